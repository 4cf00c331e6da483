import type { PgBoss, WorkOptions } from 'pg-boss';
import type { Env } from '../config.ts';
import type { Executor } from '../db/client.ts';
import { parseDuration } from '../lib/duration.ts';
import type { Logger } from '../logger.ts';
import { QUEUES } from './definitions.ts';
import { completeResponseHandler } from './handlers/complete-response.ts';
import { createResponseHandler } from './handlers/create-response.ts';
import { work, type JobEvents } from './run.ts';
import { startSweeper } from './sweeper.ts';

export interface ResponseWorkerOptions {
  boss: PgBoss;
  db: Executor;
  logger: Logger;
  /** Jobs per fetch (default 25); the handler writes each fetch with one statement. */
  batchSize?: number;
  /** Fetch loops per queue in this process. */
  localConcurrency?: number;
  events?: JobEvents;
}

/**
 * The `worker` role's queues: create-response and complete-response. Big batches with
 * burst-when-full keep fetching while there is a backlog; NOTIFY wakes an idle worker the
 * moment a job arrives, so the polling interval only matters if NOTIFY is lost.
 */
export async function startResponseWorkers(opts: ResponseWorkerOptions): Promise<void> {
  const options: Omit<WorkOptions, 'perJobResults' | 'transactional'> = {
    // Jobs are envelopes of up to 100 records and ~1 MiB of text (MAX_ENVELOPE_TEXT), all
    // held at once while a fetch is written: 25 bounds a fetch near 25 MiB of bodies, and
    // measured as fast as 200 in P1 (5,611-5,657 against 5,302-5,468 pairs/s).
    batchSize: opts.batchSize ?? 25,
    burstWhenBatchFull: true,
    // One fetch loop per queue drains as fast as two (measured: ~4,400 pairs/s either way,
    // since each fetch is written with one statement); a second loop only doubles the empty
    // fetches every NOTIFY wakes.
    localConcurrency: opts.localConcurrency ?? 1,
    pollingIntervalSeconds: 0.5,
    notifyPollingIntervalSeconds: 2,
  };
  const log = opts.logger.child({ component: 'response-workers' });
  await work(opts.boss, QUEUES.createResponse, options, createResponseHandler(opts.db), log, opts.events);
  await work(opts.boss, QUEUES.completeResponse, options, completeResponseHandler(opts.db), log, opts.events);
}

/**
 * Everything the `worker` role runs on its queues (also part of `npm start`): the tracking queues and the
 * sweeper, which fails realtime rows stale for `staleAfterMs` (REALTIME_STALE_AFTER).
 */
export async function startWorkerQueues(opts: ResponseWorkerOptions & { staleAfterMs: number; retentionDays?: number }): Promise<void> {
  await startResponseWorkers(opts);
  await startSweeper({
    boss: opts.boss,
    db: opts.db,
    logger: opts.logger,
    staleAfterMs: opts.staleAfterMs,
    ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
    ...(opts.events ? { events: opts.events } : {}),
  });
}

/** The worker role's settings from the configuration (workers/worker.ts and all-in-one). */
export function workerRoleSettings(env: Env): { staleAfterMs: number; retentionDays?: number } {
  // REALTIME_STALE_AFTER is validated as a duration when the configuration loads.
  return {
    staleAfterMs: parseDuration(env.REALTIME_STALE_AFTER)!,
    ...(env.RETENTION_DAYS !== undefined ? { retentionDays: env.RETENTION_DAYS } : {}),
  };
}
