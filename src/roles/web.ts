// The `web` role: the HTTP gateway (auth, routing, proxying, tracking writes, GET/cancel/
// DELETE, admin API). Scale it by running more of them behind a load balancer.
import type { PgBoss } from 'pg-boss';
import { openDatabase, type Database } from '../db/client.ts';
import { startGateway, type RunningGateway, type StartGatewayOptions } from '../gateway/server.ts';
import { startBoss } from '../jobs/boss.ts';
import { Listener } from '../poller/listener.ts';
import { closeAll, own, staleAfterMs, startModelCatalog, type RoleOptions } from './shared.ts';

export interface WebRoleOptions extends RoleOptions {
  upstreamUrl: string;
  adminToken?: string;
  wrapJobs?: StartGatewayOptions['wrapJobs'];
  limits?: StartGatewayOptions['limits'];
}

export interface WebRole {
  gateway: RunningGateway;
  database: Database;
  boss: PgBoss;
  close(): Promise<void>;
}

export async function startWebRole(opts: WebRoleOptions): Promise<WebRole> {
  const { env, logger, databaseUrl, shared = {} } = opts;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const database = shared.database ?? own(closers, openDatabase(databaseUrl, { max: 10, applicationName: 'volley-web' }));
    const listener = shared.listener ?? own(closers, new Listener({ url: databaseUrl, logger }), (l) => l.stop());
    await listener.start();
    // The web role only produces jobs: no maintenance, no cron, no workers, no LISTEN.
    const boss =
      shared.boss ??
      own(closers, await startBoss({ url: databaseUrl, logger, staleAfterMs: staleAfterMs(env), supervise: false, schedule: false }), (b) =>
        b.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS }),
      );
    const catalog =
      shared.catalog ??
      own(closers, await startModelCatalog({ ...opts, database, listener }), async (c) => c.stop());
    const gateway = await startGateway({
      env,
      logger,
      database,
      databaseUrl,
      boss,
      listener,
      catalog,
      ...(opts.adminToken !== undefined ? { adminToken: opts.adminToken } : {}),
      ...(opts.wrapJobs ? { wrapJobs: opts.wrapJobs } : {}),
      ...(opts.limits ? { limits: opts.limits } : {}),
    });
    // The gateway closes first: its requests finish and store their completions while the
    // database and pg-boss are still there to take them.
    closers.push(() => gateway.close());
    return { gateway, database, boss, close: () => closeAll(closers) };
  } catch (err) {
    await closeAll(closers).catch(() => {});
    throw err;
  }
}
