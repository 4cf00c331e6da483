// One bad record never costs another (DESIGN 13): a record the database would refuse (a token
// count above int4, a NUL byte) is clamped or sanitised and stored, and a record refused for a
// reason no sanitising foresaw is stored alone without its bodies, failed with its reason,
// while its batch-mates are stored. Before, the whole envelope or flush failed with it, over
// and over.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeResponseHandler } from '../../../src/jobs/handlers/complete-response.ts';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { MAX_INT4 } from '../../../src/responses/storable.ts';
import { findRequestDetail } from '../../../src/store/requests/find.ts';
import { isTerminal } from '../../../src/store/requests/rows.ts';
import { realtimeRequest, type RequestFixture } from '../../helpers/factories.ts';
import { silentLogger, startPipeline, trackedRequestIds, type Pipeline } from '../../helpers/pipeline.ts';
import { waitFor } from '../../helpers/wait.ts';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline();
});
afterAll(async () => {
  await p?.stop();
});

const terminal = (id: string) =>
  waitFor(async () => {
    const row = await findRequestDetail(p.t.db, id);
    return row && isTerminal(row.state) ? row : undefined;
  }, { what: `request ${id} terminal` });

/** Enqueues the completions in one flush (concurrently, so they share one envelope). */
async function completeTogether(fixtures: RequestFixture[]): Promise<void> {
  await Promise.all(fixtures.map((f) => p.producer.enqueueCompleteResponse(f.complete)));
}

describe('a poisoned record among others', () => {
  it('an answer with usage above the int4 range: its envelope is stored, its counts clamped', async () => {
    const fixtures = Array.from({ length: 4 }, () => realtimeRequest());
    const poisoned = fixtures[2]!;
    poisoned.complete.responseBody = JSON.stringify({
      ...JSON.parse(poisoned.complete.responseBody),
      usage: { prompt_tokens: 3_000_000_000, completion_tokens: 5, total_tokens: 3_000_000_005 },
    });
    await completeTogether(fixtures);
    const [job] = await p.boss.findJobs(QUEUES.completeResponse, { data: { records: [{ requestId: fixtures[0]!.create.requestId }] } });
    expect(job ? trackedRequestIds(job.data).length : 4).toBe(4);
    for (const f of fixtures) expect((await terminal(f.create.requestId)).state).toBe('completed');
    const row = await terminal(poisoned.create.requestId);
    expect({ prompt: row.promptTokens, total: row.totalTokens }).toEqual({ prompt: MAX_INT4, total: MAX_INT4 });
  });

  it('an answer with a raw NUL byte: every record of the flush is stored, the byte replaced', async () => {
    const fixtures = Array.from({ length: 6 }, () => realtimeRequest());
    const poisoned = fixtures[3]!;
    poisoned.complete.responseBody = poisoned.complete.responseBody.replace('answer', 'ans\u0000wer');
    await completeTogether(fixtures);
    for (const f of fixtures) expect((await terminal(f.create.requestId)).state).toBe('completed');
    const row = await terminal(poisoned.create.requestId);
    expect(row.responseBody).toContain('ans\uFFFDwer');
  });

  it('a record refused for another reason is stored alone without its bodies, failed; its batch-mates are stored', async () => {
    const fixtures = Array.from({ length: 4 }, () => realtimeRequest());
    const handler = completeResponseHandler(p.t.db);
    const jobs = fixtures.map((f, i) => ({
      id: crypto.randomUUID(),
      retryCount: 0,
      signal: new AbortController().signal,
      // A time PostgreSQL cannot hold (before 4713 BC): no sanitising anticipates it.
      data: i === 1 ? { ...f.complete, startedAt: new Date(Date.UTC(-5000, 0, 1)).toISOString() } : f.complete,
    }));
    const outcomes = await handler(jobs, silentLogger);
    expect([...outcomes.values()].map((o) => o.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
    for (const [i, f] of fixtures.entries()) {
      const row = await terminal(f.create.requestId);
      if (i !== 1) {
        expect(row.state).toBe('completed');
        continue;
      }
      expect(row).toMatchObject({ state: 'failed', body: '', responseStatus: 200 });
      expect(JSON.parse(row.error!)).toMatchObject({ type: 'RecordRejected', details: { stage: 'store', status: 200 } });
    }
  });
});
