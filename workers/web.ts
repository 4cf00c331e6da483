// The `web` role: the HTTP gateway (auth, routing, proxying, tracking jobs, GET/cancel/DELETE,
// admin API). Scale it by running more of them behind a load balancer.
import { openDatabase } from '../src/db/client.ts';
import { startGateway } from '../src/gateway/server.ts';
import { startBoss } from '../src/jobs/boss.ts';
import { loadConfigOrExit, onShutdownSignal, requireDatabaseUrl, resolveUpstream } from '../src/roles/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { Listener } from '../src/poller/listener.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'web' });
const url = requireDatabaseUrl(env, 'web');
enableProcessMetrics();

const { url: upstreamUrl, devUpstream } = await resolveUpstream(env, log);

const database = openDatabase(url, { max: 10, applicationName: 'volley-web' });
// The web role only produces jobs: no maintenance, no cron, no workers, no LISTEN.
const boss = await startBoss({ url, logger: log, supervise: false, schedule: false, listen: false });
const listener = new Listener({ url, logger: log });
await listener.start();
const gateway = await startGateway({ env, logger: log, database, databaseUrl: url, boss, listener, upstreamUrl: upstreamUrl });
log.info({ url: gateway.url }, 'web role ready');

onShutdownSignal(
  log,
  async () => {
    await gateway.close();
    await boss.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS });
    await listener.stop();
    await database.close();
    await devUpstream?.close();
  },
  env.SHUTDOWN_TIMEOUT_MS + 20_000,
);
