import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_ENVELOPE_RECORDS, MAX_ENVELOPE_TEXT, QUEUES } from '../../../src/jobs/definitions.ts';
import { trackingJobs } from '../../../src/jobs/producer.ts';
import { settle, type Outcome } from '../../../src/jobs/run.ts';
import { jobId } from '../../../src/ids.ts';
import { createLogger } from '../../../src/logger.ts';
import { fetchedJob, realtimeRequest } from '../../helpers/factories.ts';

const log = createLogger('silent');
const job = (data: unknown) => fetchedJob(QUEUES.completeResponse, data);
const completes = (n: number) => Array.from({ length: n }, () => realtimeRequest().complete);

describe('trackingJobs (how a flush of tracking records becomes pg-boss jobs)', () => {
  it('sends a lone record as the design job: the payload itself under UUIDv5("<queue>:<requestId>")', () => {
    const [record] = completes(1);
    expect(trackingJobs(QUEUES.completeResponse, [record!])).toEqual([
      { id: jobId(QUEUES.completeResponse, record!.requestId), data: record },
    ]);
  });

  it('packs many records into envelopes of at most MAX_ENVELOPE_RECORDS, each record once', () => {
    const records = completes(MAX_ENVELOPE_RECORDS * 2 + 5);
    const jobs = trackingJobs(QUEUES.completeResponse, [...records, records[3]!, records[7]!]);
    expect(jobs.map((j) => (j.data as { records: unknown[] }).records.length).sort((a, b) => a - b)).toEqual([
      5,
      MAX_ENVELOPE_RECORDS,
      MAX_ENVELOPE_RECORDS,
    ]);
    const carried = jobs.flatMap((j) => (j.data as { records: { requestId: string }[] }).records.map((r) => r.requestId));
    expect(carried.length).toBe(records.length);
    expect(new Set(carried)).toEqual(new Set(records.map((r) => r.requestId)));
    // In id order, so two concurrent inserts cannot wait on each other in a cycle.
    expect(jobs.map((j) => j.id)).toEqual(jobs.map((j) => j.id).sort());
  });

  it('caps an envelope at MAX_ENVELOPE_TEXT of body text, and sends a record larger than that on its own', () => {
    const text = (n: number) => 'x'.repeat(n);
    const quarter = MAX_ENVELOPE_TEXT / 4;
    const records = completes(10).map((r, i) => ({ ...r, requestBody: text(i === 4 ? MAX_ENVELOPE_TEXT + 1 : quarter) }));
    const jobs = trackingJobs(QUEUES.completeResponse, records);
    const groups = jobs.map((j) => ('records' in j.data ? (j.data as { records: typeof records }).records : [j.data as (typeof records)[number]]));
    for (const group of groups) {
      const size = group.reduce((n, r) => n + r.requestBody.length + r.responseBody.length + r.requestId.length, 0);
      if (group.length > 1) expect(size).toBeLessThanOrEqual(MAX_ENVELOPE_TEXT);
    }
    // The oversized record is a design job of its own (the payload itself, its own id).
    const big = records[4]!;
    expect(jobs).toContainEqual({ id: jobId(QUEUES.completeResponse, big.requestId), data: big });
    const carried = groups.flat().map((r) => r.requestId);
    expect(carried.sort()).toEqual(records.map((r) => r.requestId).sort());
    // Nine quarter-size records need at least three envelopes, and the big one its own job.
    expect(jobs.length).toBeGreaterThanOrEqual(4);
  });

  it('gives the same flush the same job ids, whatever order its records arrived in', () => {
    const records = completes(30);
    const first = trackingJobs(QUEUES.createResponse, records).map((j) => j.id);
    const again = trackingJobs(QUEUES.createResponse, [...records].reverse()).map((j) => j.id);
    expect(again).toEqual(first);
    expect(trackingJobs(QUEUES.completeResponse, records).map((j) => j.id)).not.toEqual(first);
  });
});

describe('settle with envelopes', () => {
  it('hands every record of an envelope to the handler and settles the envelope once', async () => {
    const records = completes(3);
    const single = completes(1)[0]!;
    const envelope = job({ records });
    const lone = job(single);
    const seen: string[] = [];
    const results = await settle(QUEUES.completeResponse, [envelope, lone], async (jobs) => {
      seen.push(...jobs.map((j) => j.data.requestId));
      return new Map<string, Outcome>(jobs.map((j) => [j.id, { status: 'completed', output: { ok: true } }]));
    }, log);
    expect(seen.sort()).toEqual([...records, single].map((r) => r.requestId).sort());
    expect(results).toEqual([
      { id: envelope.id, status: 'completed', output: { records: 3 } },
      { id: lone.id, status: 'completed', output: { ok: true } },
    ]);
  });

  it('retries the whole envelope when one record must be retried', async () => {
    const records = completes(3);
    const envelope = job({ records });
    const results = await settle(QUEUES.completeResponse, [envelope], async (jobs) =>
      new Map<string, Outcome>(
        jobs.map((j, i) => [j.id, i === 1 ? { status: 'failed', error: 'lock timeout' } : { status: 'completed' }]),
      ), log);
    expect(results).toEqual([{ id: envelope.id, status: 'failed', output: { error: '1 of 3 records: lock timeout' } }]);
  });

  it('dead-letters an envelope with an invalid record, naming the record and field, and runs its batch-mates', async () => {
    const records: unknown[] = completes(3);
    records[2] = { ...(records[2] as object), statusCode: 'two hundred' };
    const bad = job({ records });
    const good = job({ records: completes(2) });
    const empty = job({ records: [] });
    const seen: string[] = [];
    const results = await settle(QUEUES.completeResponse, [bad, good, empty], async (jobs) => {
      seen.push(...jobs.map((j) => j.id));
      return new Map<string, Outcome>(jobs.map((j) => [j.id, { status: 'completed' }]));
    }, log);
    expect(seen).toEqual([`${good.id}/0`, `${good.id}/1`]);
    const dead = results.find((r) => r.id === bad.id);
    expect(dead?.status).toBe('deadletter');
    expect(JSON.stringify(dead?.output)).toContain('records.2.statusCode');
    expect(results.find((r) => r.id === empty.id)?.status).toBe('deadletter');
    expect(results.find((r) => r.id === good.id)).toEqual({ id: good.id, status: 'completed', output: { records: 2 } });
  });

  it('does not accept envelopes on queues that carry one request per job', async () => {
    const results = await settle(QUEUES.processRequest, [job({ records: [{ requestId: randomUUID() }] })], async () => {
      throw new Error('must not run');
    }, log);
    expect(results[0]?.status).toBe('deadletter');
  });
});
