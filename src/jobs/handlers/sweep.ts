import type { Executor } from '../../db/client.ts';
import type { Logger } from '../../logger.ts';
import { failLostRealtimeRequests } from '../../store/request-attempts.ts';
import type { BatchHandler, Outcome } from '../run.ts';

/** Rows failed per statement; the sweep repeats until a statement fails fewer. */
const SWEEP_BATCH = 1_000;

/**
 * The sweeper (DESIGN 8.3): realtime rows left `processing` longer than `staleAfterMs` lost
 * their gateway mid-request (complete-response never came). They become `failed` with
 * TrackingLost, with the terminal NOTIFY, and are never sent upstream again: the reference
 * reset them to `pending`, which let a daemon replay a realtime request. Background and
 * flex rows are not touched; their recovery is pg-boss's (heartbeat, retry, takeover).
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

/** The `sweep` queue's handler: one sweep per fetch, however many scheduled jobs it holds. */
export function sweepHandler(db: Executor, staleAfterMs: number): BatchHandler<Record<string, unknown>> {
  return async (jobs, log) => {
    const swept = await sweepStaleRealtimeRequests(db, { staleAfterMs, logger: log });
    const outcome: Outcome = { status: 'completed', output: { trackingLost: swept.length } };
    return new Map(jobs.map((job) => [job.id, outcome]));
  };
}
