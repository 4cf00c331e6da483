import { deleteRequestsBefore } from '../../store/retention.ts';
import type { Executor } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import { deleteExpiredIdempotencyKeys } from '../../store/idempotency-keys.ts';
import { deleteMinuteRollupsBefore, ROLLUP_TABLES } from '../../store/usage-fold.ts';
import { failAbandonedBackgroundRequests, failLostRealtimeRequests } from '../../store/requests/sweep.ts';
import { QUEUE_OPTIONS, QUEUES, type SweepPayload } from '../definitions.ts';
import type { BatchHandler, Outcome } from '../run.ts';

/** Rows failed per statement; the sweep repeats until a statement fails fewer. */
const SWEEP_BATCH = 1_000;

/**
 * The sweeper (DESIGN 8.3): realtime rows left `processing` longer than `staleAfterMs` lost
 * their gateway mid-request (complete-response never came). They become `failed` with
 * TrackingLost, with the terminal NOTIFY, and are never sent upstream again: the reference
 * reset them to `pending`, which let a daemon replay a realtime request. Background and
 * flex rows are not touched here; their recovery is pg-boss's (heartbeat, retry, takeover),
 * and sweepAbandonedBackgroundRequests ends the ones whose job is gone.
 * Returns the ids it failed.
 */
export async function sweepStaleRealtimeRequests(
  db: Executor,
  opts: { staleAfterMs: number; logger?: Logger },
): Promise<string[]> {
  const swept: string[] = [];
  for (;;) {
    const ids = await failLostRealtimeRequests(db, { staleAfterMs: opts.staleAfterMs, limit: SWEEP_BATCH });
    swept.push(...ids);
    if (ids.length < SWEEP_BATCH) break;
  }
  if (swept.length > 0) {
    opts.logger?.warn({ component: 'sweeper', count: swept.length, staleAfterMs: opts.staleAfterMs }, 'realtime requests lost their gateway: failed with TrackingLost');
  }
  return swept;
}

/**
 * How long after its deadline a background or flex row with no live attempt is declared
 * abandoned. Well past anything still in flight: a retry due before the deadline and picked
 * up late fails the row itself, and no attempt outlives its job's expiry.
 */
export const ABANDONED_AFTER_MS = 60 * 60_000;
const CLAIM_TTL_MS = (QUEUE_OPTIONS[QUEUES.processRequest].expireInSeconds ?? 900) * 1_000;

/**
 * Background and flex rows whose job is gone (dead-lettered, lost) and whose deadline passed
 * an hour ago: `failed` with `Expired` (see failAbandonedBackgroundRequests). Returns the ids.
 */
export async function sweepAbandonedBackgroundRequests(
  db: Executor,
  opts: { abandonedAfterMs?: number; logger?: Logger } = {},
): Promise<string[]> {
  const swept: string[] = [];
  for (;;) {
    const ids = await failAbandonedBackgroundRequests(db, {
      abandonedAfterMs: opts.abandonedAfterMs ?? ABANDONED_AFTER_MS,
      claimTtlMs: CLAIM_TTL_MS,
      limit: SWEEP_BATCH,
    });
    swept.push(...ids);
    if (ids.length < SWEEP_BATCH) break;
  }
  if (swept.length > 0) {
    opts.logger?.warn({ component: 'sweeper', count: swept.length }, 'background requests abandoned past their deadline: failed with Expired');
  }
  return swept;
}

/**
 * Rows retention deletes per statement. Short statements (~3 ms on 1,000,000 rows; 500 rows
 * took ~10-16 ms) make short bursts: the requests a burst slows are the gateway's p99, and
 * per row a 100-row statement costs only ~20 % more (25 against 20 us, and ~1.1 kB of WAL
 * per row either way, nearly all of it the first write of each heap page after a
 * checkpoint: bench/probes/retention-statement.ts).
 */
export const RETENTION_BATCH = 100;
/** Time one sweep spends on retention at most; the next sweep (a minute later) goes on. */
export const RETENTION_BUDGET_MS = 20_000;
/**
 * After each statement retention rests this many times as long as the statement took (and
 * at least RETENTION_PAUSE_MS), so it holds one core a tenth of the time at most: on 2 cores
 * every statement it runs is CPU the requests wait for (a 500-row statement is ~20 ms on
 * 5,000,000 rows, half of it the foreign key's check of each deleted batch). At a fifth
 * (factor 4) the bench's figure (`BENCH_ONLY=retention`, 500 req/s against the seeded
 * database) came out 1.03-1.54 over runs on 5,000,000 rows, with 2,200-3,600 rows/s deleted.
 * At a tenth, five full runs: 1.07 and 1.23 on a machine at half its usual speed (1,146
 * and 849 rows/s under that load), then 1.04, 1.10 and 1.57; the last on a fast machine,
 * where it deleted ~2,700 rows/s against a p99 of only 4-5 ms without it. With 100-row
 * statements (eleventh session, one full run, seven repetitions): 0.69, ~1,100 rows/s, the
 * p99 with retention 6.5-9.9 ms in every repetition.
 */
const RETENTION_REST_FACTOR = 9;
const RETENTION_PAUSE_MS = 20;

/** What one sweep's retention deleted: request rows, and minute rows of the usage rollups. */
export interface Retained {
  requests: number;
  minuteRollups: number;
}

/**
 * Retention (RETENTION_DAYS): deletes finished rows older than the cut-off, and the rollups'
 * minute rows of before it (hour and day rows stay), in bounded statements, resting between
 * them, for at most RETENTION_BUDGET_MS per sweep. The three deletes (requests, then each
 * rollup table) take turns, so a backlog of one does not hold back the others; one that
 * deletes less than a batch is done for this sweep. A backlog (the first run on a large
 * table) is worked off over several sweeps, never in one DELETE.
 */
export async function applyRetention(
  db: Executor,
  opts: { retentionDays: number; logger?: Logger; budgetMs?: number; batch?: number; now?: Date },
): Promise<Retained> {
  const before = new Date((opts.now ?? new Date()).getTime() - opts.retentionDays * 86_400_000);
  const batch = opts.batch ?? RETENTION_BATCH;
  const deadline = Date.now() + (opts.budgetMs ?? RETENTION_BUDGET_MS);
  const retained: Retained = { requests: 0, minuteRollups: 0 };
  const deletes: { of: keyof Retained; run: () => Promise<number> }[] = [
    { of: 'requests', run: () => deleteRequestsBefore(db, before, batch) },
    ...ROLLUP_TABLES.map((table) => ({ of: 'minuteRollups' as const, run: () => deleteMinuteRollupsBefore(db, table, before, batch) })),
  ];
  while (deletes.length > 0 && Date.now() < deadline) {
    const next = deletes.shift()!;
    const started = performance.now();
    const n = await next.run();
    retained[next.of] += n;
    if (n < batch) continue;
    deletes.push(next);
    if (Date.now() >= deadline) break;
    const rest = Math.max(RETENTION_PAUSE_MS, (performance.now() - started) * RETENTION_REST_FACTOR);
    await new Promise((resolve) => setTimeout(resolve, rest));
  }
  if (retained.requests + retained.minuteRollups > 0) {
    opts.logger?.info({ component: 'retention', ...retained, before: before.toISOString() }, 'old requests and minute rollups deleted');
  }
  return retained;
}

/** The `sweep` queue's handler: one sweep per fetch, however many scheduled jobs it holds. */
export function sweepHandler(db: Executor, staleAfterMs: number, retentionDays?: number): BatchHandler<SweepPayload> {
  return async (jobs, log) => {
    const trackingLost = await sweepStaleRealtimeRequests(db, { staleAfterMs, logger: log });
    const expired = await sweepAbandonedBackgroundRequests(db, { logger: log });
    // Idempotency-Keys past their 24 hours, in bounded batches.
    let keys = 0;
    for (let n = SWEEP_BATCH; n === SWEEP_BATCH; keys += n) n = await deleteExpiredIdempotencyKeys(db, SWEEP_BATCH);
    const retained = retentionDays === undefined ? undefined : await applyRetention(db, { retentionDays, logger: log });
    const outcome: Outcome = {
      status: 'completed',
      output: {
        trackingLost: trackingLost.length,
        expired: expired.length,
        idempotencyKeys: keys,
        deleted: retained?.requests ?? 0,
        minuteRollupsDeleted: retained?.minuteRollups ?? 0,
      },
    };
    return new Map(jobs.map((job) => [job.id, outcome]));
  };
}
