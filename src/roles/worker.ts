// The `worker` role: create-response and complete-response jobs, plus the sweeper.
import type { PgBoss } from 'pg-boss';
import { openDatabase } from '../db/client.ts';
import { startBoss } from '../jobs/boss.ts';
import { startWorkerQueues, workerRoleSettings } from '../jobs/response-workers.ts';
import { QUEUES } from '../jobs/definitions.ts';
import { jobMetricsEvents } from '../jobs/run.ts';
import { observeQueueDepths } from '../metrics.ts';
import { Listener } from '../poller/listener.ts';
import { startMetricsServer } from './metrics-server.ts';
import { startUsageFolder } from './usage-folder.ts';
import { closeAll, own, staleAfterMs, SUPERVISE, type RoleOptions } from './shared.ts';

export interface WorkerRole {
  boss: PgBoss;
  /** METRICS_PORT's server, when set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

export async function startWorkerRole(opts: RoleOptions & { metrics?: boolean }): Promise<WorkerRole> {
  const { env, logger, databaseUrl, shared = {} } = opts;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const database = shared.database ?? own(closers, openDatabase(databaseUrl, { max: 10, applicationName: 'volley-worker' }));
    const listener = shared.listener ?? own(closers, new Listener({ url: databaseUrl, logger }), (l) => l.stop());
    await listener.start();
    // Stop fetching, let running batches finish; what is still running at the timeout is
    // failed back to pg-boss and retried by another worker, so nothing is lost.
    const boss =
      shared.boss ??
      own(closers, await startBoss({ url: databaseUrl, logger, staleAfterMs: staleAfterMs(env), listener, extra: SUPERVISE }), (b) =>
        b.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS }),
      );
    await startWorkerQueues({ boss, db: database.db, logger, events: jobMetricsEvents, ...workerRoleSettings(env) });
    own(closers, startUsageFolder({ db: database.db, logger }), (f) => f.stop());
    // Queue depths at scrape time, from pg-boss's own counts (its monitor refreshes them).
    observeQueueDepths(() =>
      Promise.all(
        Object.values(QUEUES).map(async (queue) => {
          const q = await boss.getQueue(queue);
          return { queue, queued: q?.queuedCount ?? 0, active: q?.activeCount ?? 0 };
        }),
      ),
    );
    const metrics =
      opts.metrics !== false && env.METRICS_PORT !== undefined
        ? own(closers, await startMetricsServer({ host: env.HOST, port: env.METRICS_PORT, token: env.METRICS_TOKEN }))
        : undefined;
    return { boss, ...(metrics ? { metricsUrl: metrics.url } : {}), close: () => closeAll(closers) };
  } catch (err) {
    await closeAll(closers).catch(() => {});
    throw err;
  }
}
