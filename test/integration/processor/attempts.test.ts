import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Job } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processRequestHandler } from '../../../src/jobs/handlers/process-request.ts';
import { sweepStaleRealtimeRequests } from '../../../src/jobs/handlers/sweep.ts';
import { PRIORITY } from '../../../src/jobs/definitions.ts';
import { processRequestJobId } from '../../../src/db/pgboss.ts';
import { sendProcessRequest } from '../../../src/jobs/batch-of-1.ts';

import { SWEEP_CRON, startSweeper } from '../../../src/jobs/sweeper.ts';
import type { ProcessRequestPayload } from '../../../src/jobs/definitions.ts';
import type { ValidJob } from '../../../src/jobs/run.ts';
import { claimRequestAttempt } from '../../../src/store/requests/attempt-claims.ts';
import { completeRequestAttempt } from '../../../src/store/requests/attempt-outcomes.ts';
import { createSingleRequestBatch } from '../../../src/store/requests/create.ts';
import { UpstreamClient } from '../../../src/upstream/client.ts';
import { InFlightCalls } from '../../../src/processor/in-flight.ts';
import type { ModelCatalog } from '../../../src/upstream/model-catalog.ts';
import { OWNER, log, row, jobFetcher, startHarness, startTestProcessor, submit, testCatalog, waitFor, waitForState, type Harness } from './harness.ts';

// No processor here: the tests drive the handler with jobs they fetch themselves, to stage
// duplicate and zombie runs deterministically.
let h: Harness;
let client: UpstreamClient;
let catalog: ModelCatalog;
beforeAll(async () => {
  h = await startHarness({ processor: false });
  client = new UpstreamClient({ timeoutMs: 5_000 });
  catalog = await testCatalog(h);
});
afterAll(async () => {
  await client?.close();
  await h?.close();
});

function handler() {
  return processRequestHandler({
    db: h.t.db,
    boss: h.boss,
    client,
    catalog,
    inFlight: new InFlightCalls(),
    backoff: { baseMs: 50, maxMs: 100 },
  });
}

function asValid(job: Job<ProcessRequestPayload>, retryCount = job.retryCount, signal = new AbortController().signal) {
  return { id: job.id, retryCount, signal, data: job.data } satisfies ValidJob<ProcessRequestPayload>;
}

// Created on first use: `h` exists only once beforeAll ran.
let fetcher: ReturnType<typeof jobFetcher> | undefined;
const fetchJob = (requestId: string) => (fetcher ??= jobFetcher(h.boss, 10))(requestId);

/** What pg-boss does when it hands a lapsed job to another worker: the retry count moves on. */
async function handOn(job: Job<ProcessRequestPayload>): Promise<void> {
  await h.t.db.execute(
    sql`UPDATE pgboss.job SET retry_count = retry_count + 1, started_on = now() WHERE name = 'process-request' AND id = ${job.id}`,
  );
}

describe('duplicate and zombie process-request runs', () => {
  it('a run that lost its job does nothing, and concurrent runs of one job call the upstream once', async () => {
    h.upstream.script('m-dup', [{ kind: 'respond', delayMs: 200, body: { ok: 'only' } }]);
    const id = await submit(h, { model: 'm-dup' });
    const job = await fetchJob(id);
    await handOn(job);
    const run = handler();
    const [zombie, current, duplicate] = await Promise.all([
      run([asValid(job, 0)], log),
      run([asValid(job, 1)], log),
      run([asValid(job, 1)], log),
    ]);
    expect(zombie.get(job.id)).toMatchObject({ status: 'completed', output: { skipped: 'not-claimable' } });
    const outputs = [current.get(job.id), duplicate.get(job.id)].map((o) => (o?.status === 'completed' ? o.output : o));
    expect(outputs).toContainEqual({ state: 'completed' });
    expect(outputs).toContainEqual({ skipped: 'not-claimable' });
    expect(h.upstream.callsFor(id)).toHaveLength(1);
    const done = await row(h.t, id);
    expect(done.state).toBe('completed');
    expect(JSON.parse(done.responseBody!)).toEqual({ ok: 'only' });
  });

  it('a run that takes over a stalled attempt wins; the stalled run cannot write over it', async () => {
    const id = await submit(h, { model: 'm-takeover' });
    h.upstream.script(id, [
      { kind: 'respond', delayMs: 600, body: { from: 'stalled' } },
      { kind: 'respond', body: { from: 'takeover' } },
    ]);
    const job = await fetchJob(id);
    const run = handler();
    const stalled = run([asValid(job, 0)], log);
    await waitFor(() => h.upstream.callsFor(id), (c) => c.length === 1, { what: 'the stalled call' });
    await handOn(job);
    const takeover = await run([asValid(job, 1)], log);
    expect(takeover.get(job.id)).toMatchObject({ output: { state: 'completed' } });
    expect((await stalled).get(job.id)).toMatchObject({ output: { state: 'dropped' } });
    const done = await row(h.t, id);
    expect(done.state).toBe('completed');
    expect(JSON.parse(done.responseBody!)).toEqual({ from: 'takeover' });
  });

  it("an earlier attempt's job run again after a retry was scheduled is skipped", async () => {
    const id = await submit(h, { model: 'm-stale' });
    h.upstream.script(id, [{ kind: 'respond', status: 503, body: 'unavailable' }, { kind: 'respond' }]);
    const job0 = await fetchJob(id);
    const run = handler();
    const first = await run([asValid(job0)], log);
    expect(first.get(job0.id)).toMatchObject({ output: { state: 'pending', nextAttempt: 1 } });
    const pending = await row(h.t, id);
    expect(pending).toMatchObject({ state: 'pending', retryAttempt: 1 });
    expect(JSON.parse(pending.error!)).toEqual({ type: 'RetriableHttpStatus', details: { status: 503, body: 'unavailable' } });
    expect(pending.notBefore!.getTime()).toBeGreaterThan(Date.now() - 1_000);

    // The first attempt's job, run again (say its completion was lost): nothing happens.
    const again = await run([asValid(job0)], log);
    expect(again.get(job0.id)).toMatchObject({ output: { skipped: 'stale attempt', attempt: 1 } });
    expect(h.upstream.callsFor(id)).toHaveLength(1);

    const job1 = await fetchJob(id);
    expect(job1.id).toBe(processRequestJobId(id, 1));
    await run([asValid(job1)], log);
    expect((await row(h.t, id)).state).toBe('completed');
    // And once terminal, any run of any attempt is a no-op.
    const late = await run([asValid(job1)], log);
    expect(late.get(job1.id)).toMatchObject({ output: { skipped: 'completed' } });
    expect(h.upstream.callsFor(id)).toHaveLength(2);
  });

  it('re-sending an attempt job is a no-op (deterministic ids)', async () => {
    const id = await submit(h, { model: 'm-resend' });
    await h.t.db.transaction(async (tx) => {
      await sendProcessRequest(h.boss, tx, id, { priority: PRIORITY.background, model: 'm-resend' });
    });
    const count = await h.t.db.execute<{ n: number }>(
      sql`SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'process-request' AND data->>'requestId' = ${id}`,
    );
    expect(count.rows[0]!.n).toBe(1);
  });
});

describe('model slots at claim time', () => {
  it('admits at most `limit` claims per model, frees a slot on a terminal write, and ignores dead claims', async () => {
    const slots = { model: 'm-slots', limit: 1, claimTtlMs: 60_000 };
    const a = await submit(h, { model: 'm-slots' });
    const b = await submit(h, { model: 'm-slots' });
    const jobA = await fetchJob(a);
    const jobB = await fetchJob(b);
    const claimA = await claimRequestAttempt(h.t.db, { requestId: a, attempt: 0, job: jobA, slots });
    expect(claimA.kind).toBe('claimed');
    expect(await claimRequestAttempt(h.t.db, { requestId: b, attempt: 0, job: jobB, slots })).toEqual({
      kind: 'at-capacity',
      inFlight: 1,
    });
    // Another model is not affected.
    const c = await submit(h, { model: 'm-slots-other' });
    const jobC = await fetchJob(c);
    expect((await claimRequestAttempt(h.t.db, { requestId: c, attempt: 0, job: jobC, slots: { ...slots, model: 'm-slots-other' } })).kind).toBe('claimed');

    if (claimA.kind !== 'claimed') return;
    await completeRequestAttempt(h.t.db, claimA.claim, 200, '{}');
    const claimB = await claimRequestAttempt(h.t.db, { requestId: b, attempt: 0, job: jobB, slots });
    expect(claimB.kind).toBe('claimed');

    // A claim older than the TTL belongs to a lost job: it holds no slot.
    await h.t.db.execute(sql`UPDATE requests SET claimed_at = now() - interval '2 minutes' WHERE id = ${b}`);
    const d = await submit(h, { model: 'm-slots' });
    const jobD = await fetchJob(d);
    expect((await claimRequestAttempt(h.t.db, { requestId: d, attempt: 0, job: jobD, slots })).kind).toBe('claimed');
  });
});

describe('sweeper', () => {
  async function realtimeRow(opts: { minutesAgo: number; window?: string; background?: boolean; claimed?: boolean }) {
    const id = randomUUID();
    await createSingleRequestBatch(h.t.db, {
      requestId: id,
      batchId: id,
      endpoint: '/v1/chat/completions',
      model: 'm-realtime',
      serviceTier: 'default',
      background: opts.background ?? false,
      body: '{"model":"m-realtime"}',
      createdBy: OWNER,
      apiKeyId: null,
      state: 'processing',
      completionWindow: opts.window ?? '0s',
      expiresAt: null,
    });
    await h.t.db.execute(sql`UPDATE requests SET started_at = now() - make_interval(mins => ${opts.minutesAgo}), updated_at = now() - make_interval(mins => ${opts.minutesAgo}),
      claimed_at = CASE WHEN ${opts.claimed ?? false} THEN now() END WHERE id = ${id}`);
    return id;
  }

  it('fails stale realtime rows with TrackingLost and never sends them upstream', async () => {
    const stale = await realtimeRow({ minutesAgo: 20 });
    const fresh = await realtimeRow({ minutesAgo: 1 });
    const staleFlex = await realtimeRow({ minutesAgo: 20, window: '1h', claimed: true });
    const staleBackground = await realtimeRow({ minutesAgo: 20, window: '10m', background: true, claimed: true });

    // A process-request job that should never exist for a realtime row: the processor must
    // not claim it (and so never fire it upstream), before or after the sweep.
    await h.t.db.transaction((tx) => sendProcessRequest(h.boss, tx, stale, { priority: PRIORITY.background, model: 'm-realtime' }));
    const processor = await startTestProcessor(h, { backoff: { baseMs: 50, maxMs: 100 } }, { concurrency: 4 });
    try {
      await waitFor(
        async () =>
          (await h.t.db.execute<{ state: string }>(sql`SELECT state FROM pgboss.job WHERE id = ${processRequestJobId(stale, 0)}`))
            .rows[0]?.state,
        (s) => s === 'completed',
        { what: 'the rogue job to be settled' },
      );
    } finally {
      await h.boss.offWork('process-request');
      await processor.stop();
    }
    expect((await row(h.t, stale)).state).toBe('processing');

    const swept = await sweepStaleRealtimeRequests(h.t.db, { staleAfterMs: 15 * 60_000 });
    expect(swept).toEqual([stale]);
    const failed = await row(h.t, stale);
    expect(failed.state).toBe('failed');
    expect(failed.error).toBe('{"type":"TrackingLost"}');
    expect(failed.failedAt).not.toBeNull();
    for (const id of [fresh, staleFlex, staleBackground]) expect((await row(h.t, id)).state).toBe('processing');
    expect(h.upstream.callsFor(stale)).toHaveLength(0);
    expect(h.upstream.callsFor('m-realtime')).toHaveLength(0);

    // Idempotent.
    expect(await sweepStaleRealtimeRequests(h.t.db, { staleAfterMs: 15 * 60_000 })).toEqual([]);
  });

  it('is scheduled every minute, and its worker sweeps', async () => {
    const stale = await realtimeRow({ minutesAgo: 30 });
    // Sent before the worker starts, so its first fetch finds it (the sweep queue polls slowly).
    await h.boss.send('sweep', {});
    await startSweeper({ boss: h.boss, db: h.t.db, logger: log, staleAfterMs: 15 * 60_000 });
    const schedules = await h.boss.getSchedules('sweep');
    expect(schedules.map((s) => s.cron)).toEqual([SWEEP_CRON]);
    expect(SWEEP_CRON).toBe('* * * * *');
    await waitForState(h.t, stale, ['failed'], 10_000);
    expect((await row(h.t, stale)).error).toBe('{"type":"TrackingLost"}');
    await h.boss.offWork('sweep');
  });
});
