import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUES, deadLetterQueue } from '../../../src/jobs/definitions.ts';
import { completeResponseHandler } from '../../../src/jobs/handlers/complete-response.ts';
import { jobId } from '../../../src/ids.ts';
import { realtimeRequest, type RequestFixture } from '../../helpers/factories.ts';
import { silentLogger, startPipeline, trackedRequestIds, type Pipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

describe('the pipeline through pg-boss', () => {
  it('a randomized race over 1,200 requests loses nothing: no missing, non-terminal or wrong rows', async () => {
    const statuses = [200, 200, 200, 201, 400, 429, 500];
    const fixtures: RequestFixture[] = Array.from({ length: 1_200 }, () =>
      realtimeRequest({ status: statuses[Math.floor(Math.random() * statuses.length)] }),
    );
    type Op = () => Promise<unknown>;
    const ops: Op[] = [];
    const directComplete = completeResponseHandler(p.t.db);
    for (const r of fixtures) {
      ops.push(() => p.producer.enqueueCreateResponse(r.create));
      ops.push(() => p.producer.enqueueCompleteResponse(r.complete));
      const roll = Math.random();
      // Duplicates: a producer retry after an ambiguous error (same deterministic job id)…
      if (roll < 0.2) ops.push(() => p.producer.enqueueCreateResponse(r.create));
      if (roll > 0.8) ops.push(() => p.producer.enqueueCompleteResponse(r.complete));
      // …and a redelivered attempt running beside the queue's own.
      if (roll > 0.45 && roll < 0.55) {
        ops.push(() =>
          directComplete(
            [{ id: crypto.randomUUID(), retryCount: 1, signal: new AbortController().signal, data: r.complete }],
            silentLogger,
          ),
        );
      }
    }
    shuffle(ops);
    // Random delays: ops go out in waves of random size with random pauses between them.
    const running: Promise<unknown>[] = [];
    for (let i = 0; i < ops.length; ) {
      const wave = 1 + Math.floor(Math.random() * 60);
      for (const op of ops.slice(i, i + wave)) running.push(op());
      i += wave;
      if (Math.random() < 0.3) await sleep(Math.random() * 15);
    }
    await Promise.all(running);

    const ids = fixtures.map((r) => r.create.requestId);
    const rows = await waitFor(
      async () => {
        const { rows } = await p.t.pool.query(
          `SELECT id, state, response_status, response_body, body FROM requests
           WHERE id = ANY($1::uuid[]) AND state IN ('completed', 'failed', 'canceled')`,
          [ids],
        );
        return rows.length === ids.length ? rows : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'every request to be terminal' },
    );
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    let missing = 0;
    let wrong = 0;
    for (const r of fixtures) {
      const row = byId.get(r.create.requestId);
      if (!row) {
        missing++;
        continue;
      }
      const expectedState = r.complete.statusCode < 400 ? 'completed' : 'failed';
      if (
        row.state !== expectedState ||
        row.response_status !== r.complete.statusCode ||
        row.response_body !== r.complete.responseBody ||
        row.body !== r.create.body
      ) {
        wrong++;
      }
    }
    const { rows: live } = await p.t.pool.query(
      `SELECT count(*)::int AS n FROM requests WHERE id = ANY($1::uuid[]) AND state NOT IN ('completed', 'failed', 'canceled')`,
      [ids],
    );
    expect({ missing, wrong, nonTerminal: live[0].n, rows: rows.length }).toEqual({
      missing: 0,
      wrong: 0,
      nonTerminal: 0,
      rows: 1_200,
    });
  });

  it('a re-sent job with the same deterministic id is not queued twice', async () => {
    const r = realtimeRequest();
    await p.producer.enqueueCreateResponse(r.create);
    await p.producer.enqueueCreateResponse(r.create);
    const jobs = await p.boss.findJobs(QUEUES.createResponse, { id: jobId(QUEUES.createResponse, r.create.requestId) });
    expect(jobs).toHaveLength(1);
    const all = await p.boss.findJobs(QUEUES.createResponse, { data: { requestId: r.create.requestId } });
    expect(all).toHaveLength(1);
  });

  it('an invalid payload lands in the dead-letter queue at once, without retries, saying what was wrong', async () => {
    const r = realtimeRequest();
    const bad = { ...r.complete, statusCode: 'two hundred', requestId: 'not-a-uuid' };
    const id = await p.boss.send(QUEUES.completeResponse, bad);
    expect(id).toBeTruthy();
    const dead = await waitFor(
      async () => {
        const jobs = await p.boss.findJobs<Record<string, unknown>>(deadLetterQueue(QUEUES.completeResponse), {
          data: { batchId: r.complete.batchId },
        });
        return jobs[0];
      },
      { what: 'the job in the dead-letter queue' },
    );
    expect(dead.sourceId).toBe(id);
    expect(dead.sourceRetryCount).toBe(0);
    const error = JSON.stringify(dead.sourceOutput);
    expect(error).toContain('requestId');
    expect(error).toContain('statusCode');
    const [original] = await p.boss.findJobs(QUEUES.completeResponse, { id: id! });
    expect(original?.state).toBe('failed');
    expect(original?.retryCount).toBe(0);
    // The valid neighbours of a bad job are unaffected.
    await p.producer.enqueueCompleteResponse(r.complete);
    await waitFor(async () => {
      const { rows } = await p.t.pool.query(`SELECT state FROM requests WHERE id = $1`, [r.complete.requestId]);
      return rows[0]?.state === 'completed' ? true : undefined;
    });
  });

  it('concurrent enqueues travel as envelopes, and a record re-sent in another envelope still ends as one correct row', async () => {
    const fixtures = Array.from({ length: 300 }, () => realtimeRequest());
    await Promise.all(fixtures.map((r) => p.producer.enqueueCompleteResponse(r.complete)));
    // The same records again, grouped differently: a re-send after an ambiguous failure.
    await Promise.all(fixtures.slice(0, 150).reverse().map((r) => p.producer.enqueueCompleteResponse(r.complete)));
    const ids = fixtures.map((r) => r.complete.requestId);
    const jobs = await waitFor(async () => {
      const all = await p.boss.findJobs(QUEUES.completeResponse, { queued: false, limit: 10_000 });
      const mine = all.filter((j) => trackedRequestIds(j.data).some((id) => ids.includes(id)));
      return mine.length > 0 && mine.every((j) => j.state === 'completed') ? mine : undefined;
    }, { timeoutMs: 30_000, what: 'every complete-response job settled' });
    expect(jobs.some((j) => trackedRequestIds(j.data).length > 1)).toBe(true);
    expect(jobs.length).toBeLessThan(ids.length);
    const { rows } = await p.t.pool.query<{ id: string; state: string; response_body: string }>(
      `SELECT id, state, response_body FROM requests WHERE id = ANY($1::uuid[])`,
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const wrong = fixtures.filter((f) => {
      const row = byId.get(f.complete.requestId);
      return row?.state !== 'completed' || row.response_body !== f.complete.responseBody;
    });
    expect({ rows: rows.length, wrong: wrong.length }).toEqual({ rows: 300, wrong: 0 });
  });

  it('an envelope with an invalid record is dead-lettered whole, records kept, naming the bad field', async () => {
    const good = realtimeRequest();
    const bad = { ...realtimeRequest().complete, statusCode: 'two hundred' };
    const id = await p.boss.send(QUEUES.completeResponse, { records: [good.complete, bad] });
    const dead = await waitFor(async () => {
      const jobs = await p.boss.findJobs<{ records: unknown[] }>(deadLetterQueue(QUEUES.completeResponse), { queued: false, limit: 1000 });
      return jobs.find((j) => j.sourceId === id);
    }, { what: 'the envelope in the dead-letter queue' });
    expect(dead.data.records).toEqual([good.complete, bad]);
    expect(JSON.stringify(dead.sourceOutput)).toContain('records.1.statusCode');
  });
});
