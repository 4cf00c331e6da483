// Every role in one process (`npm start`, and the tests' service): one pool, one LISTEN
// connection and one pg-boss shared by the gateway, the response workers, the sweeper and the
// request processor.
import type { PgBoss } from 'pg-boss';
import { openDatabase, type Database } from '../db/client.ts';
import { startBoss } from '../jobs/boss.ts';
import { Listener } from '../poller/listener.ts';
import { startFlexRole, type FlexRole } from './flex.ts';
import { closeAll, own, staleAfterMs, startModelCatalog, SUPERVISE, type RoleOptions } from './shared.ts';
import { startWebRole, type WebRole, type WebRoleOptions } from './web.ts';
import { startWorkerRole, type WorkerRole } from './worker.ts';

export interface AllRoles {
  web: WebRole;
  worker: WorkerRole;
  flex: FlexRole;
  database: Database;
  boss: PgBoss;
  listener: Listener;
  close(): Promise<void>;
}

export async function startAllRoles(opts: Omit<WebRoleOptions, 'shared'> & Pick<RoleOptions, 'shared'>): Promise<AllRoles> {
  const { env, logger, databaseUrl } = opts;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const database = own(closers, openDatabase(databaseUrl, { max: 20, applicationName: 'volley' }));
    const listener = own(closers, new Listener({ url: databaseUrl, logger }), (l) => l.stop());
    await listener.start();
    let flex: FlexRole | undefined;
    // Closed after pg-boss stopped fetching (see roles/flex.ts).
    closers.push(async () => flex?.close());
    const boss = own(closers, await startBoss({ url: databaseUrl, logger, staleAfterMs: staleAfterMs(env), listener, extra: SUPERVISE }), (b) =>
      b.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS }),
    );
    const catalog = own(closers, await startModelCatalog({ ...opts, database, listener }), async (c) => c.stop());
    const shared = { database, listener, boss, catalog };
    const worker = own(closers, await startWorkerRole({ env, logger, databaseUrl, shared, metrics: false }));
    flex = await startFlexRole({
      env,
      logger,
      databaseUrl,
      shared,
      upstreamUrl: opts.upstreamUrl,
      metrics: false,
      ...(opts.secrets ? { secrets: opts.secrets } : {}),
      ...(opts.adminToken !== undefined ? { adminToken: opts.adminToken } : {}),
    });
    // The gateway stops first: its requests finish and store their completions while the
    // workers and the database are still there to take them.
    const web = own(closers, await startWebRole({ ...opts, shared }));
    return { web, worker, flex, database, boss, listener, close: () => closeAll(closers) };
  } catch (err) {
    await closeAll(closers).catch(() => {});
    throw err;
  }
}
