import type { Executor } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import { deleteExpiredIdempotencyKeys } from '../../store/idempotency-keys.ts';
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

/** The `sweep` queue's handler: one sweep per fetch, however many scheduled jobs it holds. */
export function sweepHandler(db: Executor, staleAfterMs: number): BatchHandler<SweepPayload> {
  return async (jobs, log) => {
    const trackingLost = await sweepStaleRealtimeRequests(db, { staleAfterMs, logger: log });
    const expired = await sweepAbandonedBackgroundRequests(db, { logger: log });
    // Idempotency-Keys past their 24 hours, in bounded batches.
    let keys = 0;
    for (let n = SWEEP_BATCH; n === SWEEP_BATCH; keys += n) n = await deleteExpiredIdempotencyKeys(db, SWEEP_BATCH);
    const outcome: Outcome = {
      status: 'completed',
      output: { trackingLost: trackingLost.length, expired: expired.length, idempotencyKeys: keys },
    };
    return new Map(jobs.map((job) => [job.id, outcome]));
  };
}
