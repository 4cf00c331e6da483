// The `flex` role: runs process-request jobs (background and flex requests) against the upstream.
import type { PgBoss } from 'pg-boss';
import { openDatabase } from '../db/client.ts';
import { startBoss } from '../jobs/boss.ts';
import { requestProcessorSettings, startRequestProcessor, type RequestProcessor } from '../jobs/request-processor.ts';
import { jobMetricsEvents } from '../jobs/run.ts';
import { Listener } from '../poller/listener.ts';
import { startMetricsServer } from './metrics-server.ts';
import { closeAll, own, staleAfterMs, startModelCatalog, SUPERVISE, type RoleOptions } from './shared.ts';

export interface FlexRole {
  boss: PgBoss;
  processor: RequestProcessor;
  metricsUrl?: string;
  close(): Promise<void>;
}

export async function startFlexRole(
  opts: RoleOptions & { upstreamUrl: string; adminToken?: string; metrics?: boolean },
): Promise<FlexRole> {
  const { env, logger, databaseUrl, shared = {} } = opts;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    // Each running job holds a pool connection only while it reads or writes its row.
    const database = shared.database ?? own(closers, openDatabase(databaseUrl, { max: 10, applicationName: 'volley-flex' }));
    const listener = shared.listener ?? own(closers, new Listener({ url: databaseUrl, logger }), (l) => l.stop());
    await listener.start();
    let processor: RequestProcessor | undefined;
    // Stopping: pg-boss stops fetching and lets running attempts finish; an attempt still
    // running at the timeout is aborted and failed back to pg-boss, and its retry (in any
    // process) takes the row over. The processor is stopped after pg-boss.
    closers.push(async () => processor?.stop());
    const boss =
      shared.boss ??
      own(closers, await startBoss({ url: databaseUrl, logger, staleAfterMs: staleAfterMs(env), listener, extra: SUPERVISE }), (b) =>
        b.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS }),
      );
    const catalog =
      shared.catalog ??
      own(closers, await startModelCatalog({ ...opts, database, listener }), async (c) => c.stop());
    processor = await startRequestProcessor({
      boss,
      db: database.db,
      listener,
      logger,
      catalog,
      events: jobMetricsEvents,
      ...requestProcessorSettings(env, opts.adminToken ?? env.ADMIN_TOKEN),
    });
    const metrics =
      opts.metrics !== false && env.METRICS_PORT !== undefined
        ? own(closers, await startMetricsServer({ host: env.HOST, port: env.METRICS_PORT, token: env.METRICS_TOKEN }))
        : undefined;
    return { boss, processor, ...(metrics ? { metricsUrl: metrics.url } : {}), close: () => closeAll(closers) };
  } catch (err) {
    await closeAll(closers).catch(() => {});
    throw err;
  }
}
