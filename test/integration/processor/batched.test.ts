import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessRequestPayload } from '../../../src/jobs/definitions.ts';
import { TERMINAL_CHANNEL } from '../../../src/db/channels.ts';
import { nonRetriableHttpStatus } from '../../../src/responses/failure-reason.ts';
import { cancelRequest } from '../../../src/store/requests/cancel.ts';
import { claimRequestAttempts, type AttemptClaim, type ClaimResult } from '../../../src/store/requests/attempt-claims.ts';
import { finishRequestAttempts } from '../../../src/store/requests/attempt-outcomes.ts';
import { row, jobFetcher, startHarness, submit, waitFor, type Harness } from './harness.ts';

// The batched store operations the processor runs per fetch: one claim statement (with the
// per-model admission) for a whole batch, and one fenced terminal write for many attempts.
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ processor: false });
});
afterAll(async () => {
  await h?.close();
});

// Created on first use: `h` exists only once beforeAll ran.
let fetcher: ReturnType<typeof jobFetcher> | undefined;
const fetchJob = (requestId: string) => (fetcher ??= jobFetcher(h.boss, 20))(requestId);

async function submitAndFetch(model: string): Promise<{ id: string; job: Job<ProcessRequestPayload> }> {
  const id = await submit(h, { model });
  return { id, job: await fetchJob(id) };
}

function claimOf(result: ClaimResult | undefined): AttemptClaim {
  if (result?.kind !== 'claimed') throw new Error(`expected a claim, got ${JSON.stringify(result)}`);
  return result.claim;
}

describe('claimRequestAttempts (one statement per fetched batch)', () => {
  it('claims what it may and says why for the rest: stale, terminal, missing, lost job, at capacity', async () => {
    const model = 'm-batch';
    const limits = { default: 8, overrides: { [model]: 3 }, claimTtlMs: 60_000 };
    // One attempt of the model already in flight: two slots are left.
    const busy = await submitAndFetch(model);
    expect((await claimRequestAttempts(h.t.db, [{ requestId: busy.id, attempt: 0, job: busy.job }], limits))[0]?.kind).toBe('claimed');

    const [a, b, c, done, stale, lost] = await Promise.all(Array.from({ length: 6 }, () => submitAndFetch(model)));
    const other = await submitAndFetch('m-batch-other');
    await h.t.db.execute(sql`UPDATE requests SET state = 'completed', completed_at = now(), response_status = 200,
      response_body = '{}' WHERE id = ${done!.id}`);
    // A retry was scheduled meanwhile: this job is an earlier attempt's.
    await h.t.db.execute(sql`UPDATE requests SET retry_attempt = 1 WHERE id = ${stale!.id}`);
    // pg-boss handed this job on: the run holding retry count 0 lost it.
    await h.t.db.execute(sql`UPDATE pgboss.job SET retry_count = retry_count + 1 WHERE id = ${lost!.job.id}`);
    const missing = randomUUID();

    const results = await claimRequestAttempts(
      h.t.db,
      [
        { requestId: done!.id, attempt: 0, job: done!.job },
        { requestId: a!.id, attempt: 0, job: a!.job },
        { requestId: stale!.id, attempt: 0, job: stale!.job },
        { requestId: lost!.id, attempt: 0, job: lost!.job },
        { requestId: missing, attempt: 0, job: { id: randomUUID(), retryCount: 0 } },
        { requestId: b!.id, attempt: 0, job: b!.job },
        { requestId: other.id, attempt: 0, job: other.job },
        { requestId: c!.id, attempt: 0, job: c!.job },
      ],
      limits,
    );
    expect(results.map((r) => r.kind)).toEqual([
      'already-terminal',
      'claimed',
      'not-claimable',
      'not-claimable',
      'missing',
      'claimed',
      'claimed',
      'at-capacity',
    ]);
    expect(results[0]).toEqual({ kind: 'already-terminal', state: 'completed' });
    expect(results[2]).toEqual({ kind: 'not-claimable', state: 'pending', retryAttempt: 1 });
    expect(results[3]).toEqual({ kind: 'not-claimable', state: 'pending', retryAttempt: 0 });
    // Admitted in input order; the one past the limit waits, counting the attempt in flight.
    expect(results[7]).toEqual({ kind: 'at-capacity', inFlight: 1 });
    const claimedA = results[1]!;
    if (claimedA.kind !== 'claimed') return;
    expect(claimedA.row).toMatchObject({ id: a!.id, state: 'processing', model, retryAttempt: 0 });
    expect(claimedA.row.claimedAt).toBeInstanceOf(Date);

    const states = await h.t.db.execute<{ id: string; state: string }>(
      sql`SELECT id, state FROM requests WHERE id IN (${a!.id}, ${b!.id}, ${c!.id}, ${stale!.id}, ${lost!.id}, ${other.id})`,
    );
    expect(Object.fromEntries(states.rows.map((r) => [r.id, r.state]))).toEqual({
      [a!.id]: 'processing',
      [b!.id]: 'processing',
      [other.id]: 'processing',
      [c!.id]: 'pending',
      [stale!.id]: 'pending',
      [lost!.id]: 'pending',
    });

    // A slot frees: the waiting attempt is admitted.
    await finishRequestAttempts(h.t.db, [{ claim: claimOf(claimedA), state: 'completed', status: 200, body: '{}' }]);
    expect((await claimRequestAttempts(h.t.db, [{ requestId: c!.id, attempt: 0, job: c!.job }], limits))[0]?.kind).toBe('claimed');
  });

  it('gives a row to one run only when runs of its job share a statement', async () => {
    const { id, job } = await submitAndFetch('m-batch-dup');
    const results = await claimRequestAttempts(h.t.db, [
      { requestId: id, attempt: 0, job },
      { requestId: id, attempt: 0, job },
      { requestId: id, attempt: 0, job: { id: job.id, retryCount: job.retryCount + 1 } },
    ]);
    expect(results.map((r) => r.kind).sort()).toEqual(['claimed', 'not-claimable', 'not-claimable']);
  });

  it('never admits more than the limit when batches of one model race', async () => {
    const model = 'm-batch-race';
    const limits = { default: 8, overrides: { [model]: 5 }, claimTtlMs: 60_000 };
    const items = await Promise.all(Array.from({ length: 16 }, () => submitAndFetch(model)));
    const batches = [items.slice(0, 4), items.slice(4, 8), items.slice(8, 12), items.slice(12)];
    const results = await Promise.all(
      batches.map((batch) => claimRequestAttempts(h.t.db, batch.map((i) => ({ requestId: i.id, attempt: 0, job: i.job })), limits)),
    );
    const kinds = results.flat().map((r) => r.kind);
    expect(kinds.filter((k) => k === 'claimed')).toHaveLength(5);
    expect(kinds.filter((k) => k === 'at-capacity')).toHaveLength(11);
  });
});

describe('finishRequestAttempts (one fenced write for many attempts)', () => {
  it('writes the attempts that hold their rows, drops the others, and announces only what it wrote', async () => {
    const model = 'm-finish';
    const [a, b, c, d] = await Promise.all(Array.from({ length: 4 }, () => submitAndFetch(model)));
    const claims = (
      await claimRequestAttempts(
        h.t.db,
        [a!, b!, c!, d!].map((i) => ({ requestId: i.id, attempt: 0, job: i.job })),
      )
    ).map(claimOf);
    const [claimA, claimB, claimC, claimD] = claims as [AttemptClaim, AttemptClaim, AttemptClaim, AttemptClaim];
    // b is canceled mid-call; d was taken over by another run (a new claim token).
    expect((await cancelRequest(h.t.db, b!.id)).kind).toBe('canceled');
    await h.t.db.execute(sql`UPDATE requests SET claimed_at = clock_timestamp() WHERE id = ${d!.id}`);

    const announced: string[] = [];
    const off = await h.listener.subscribe(TERMINAL_CHANNEL, (payload) => announced.push(...payload.split(',')));
    try {
      const written = await finishRequestAttempts(h.t.db, [
        {
          claim: claimA,
          state: 'completed',
          status: 200,
          body: '{"ok":"a","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}',
        },
        { claim: claimB, state: 'completed', status: 200, body: '{"ok":"b"}' },
        {
          claim: claimC,
          state: 'failed',
          reason: nonRetriableHttpStatus(400, 'bad request'),
          http: { status: 400, body: 'bad request' },
        },
        { claim: claimD, state: 'completed', status: 200, body: '{"ok":"zombie"}' },
        // The same attempt twice with a stale token (a zombie of a): told apart from the real one.
        { claim: { ...claimA, token: '2000-01-01 00:00:00+00' }, state: 'completed', status: 200, body: '{"ok":"stale"}' },
      ]);
      expect(written).toEqual([true, false, true, false, false]);
      // Notifications reach a listener in commit order: once a marker sent after the write
      // committed has arrived, every id the write announced has arrived before it.
      await h.t.pool.query(`SELECT pg_notify($1, 'marker')`, [TERMINAL_CHANNEL]);
      await waitFor(() => announced, (ids) => ids.includes('marker'), { what: 'the marker notification' });
      expect(announced.filter((id) => id !== 'marker').sort()).toEqual([a!.id, c!.id].sort());
    } finally {
      off();
    }

    const rowA = await row(h.t, a!.id);
    expect(rowA).toMatchObject({ state: 'completed', responseStatus: 200, error: null, promptTokens: 3, completionTokens: 4, totalTokens: 7 });
    expect(JSON.parse(rowA.responseBody!)).toEqual({ ok: 'a', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } });
    expect(rowA.completedAt).not.toBeNull();
    expect((await row(h.t, b!.id))).toMatchObject({ state: 'canceled', responseBody: null });
    const rowC = await row(h.t, c!.id);
    expect(rowC).toMatchObject({ state: 'failed', responseStatus: 400, responseBody: 'bad request', completedAt: null });
    expect(JSON.parse(rowC.error!)).toEqual({ type: 'NonRetriableHttpStatus', details: { status: 400, body: 'bad request' } });
    expect(rowC.failedAt).not.toBeNull();
    expect(await row(h.t, d!.id)).toMatchObject({ state: 'processing', responseBody: null });
  });
});
