import type { PgBoss } from 'pg-boss';
import type { Executor } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { QUEUES } from './definitions.ts';
import { sweepHandler } from './handlers/sweep.ts';
import { work, type JobEvents } from './run.ts';

/** Every minute. pg-boss keeps one schedule per name, so every worker calling this is harmless. */
export const SWEEP_CRON = '* * * * *';

export interface SweeperOptions {
  boss: PgBoss;
  db: Executor;
  logger: Logger;
  /** REALTIME_STALE_AFTER in milliseconds. */
  staleAfterMs: number;
  /** RETENTION_DAYS: unset keeps rows for ever. */
  retentionDays?: number;
  cron?: string;
  events?: JobEvents;
}

/**
 * Schedules the sweep with pg-boss cron (the boss needs `schedule: true`, startBoss's default)
 * and registers its worker; the `worker` role calls this once at start-up.
 */
export async function startSweeper(opts: SweeperOptions): Promise<void> {
  // Data `{}`: pg-boss sends the schedule's data as each job's payload, null when omitted.
  await opts.boss.schedule(QUEUES.sweep, opts.cron ?? SWEEP_CRON, {});
  await work(
    opts.boss,
    QUEUES.sweep,
    { batchSize: 10, pollingIntervalSeconds: 30 },
    sweepHandler(opts.db, opts.staleAfterMs, opts.retentionDays),
    opts.logger.child({ component: 'sweeper' }),
    opts.events,
  );
}
