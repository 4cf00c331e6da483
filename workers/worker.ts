// The `worker` role: create-response and complete-response jobs, plus the sweeper.
import { openDatabase } from '../src/db/client.ts';
import { startBoss } from '../src/jobs/boss.ts';
import { startWorkerRole, workerRoleSettings } from '../src/jobs/response-workers.ts';
import { loadConfigOrExit, onShutdownSignal, requireDatabaseUrl } from '../src/roles/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { jobMetricsEvents } from '../src/jobs/run.ts';
import { startMetricsServer } from '../src/roles/metrics-server.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'worker' });
const url = requireDatabaseUrl(env, 'worker');
enableProcessMetrics();
const database = openDatabase(url, { max: 10, applicationName: 'volley-worker' });
const boss = await startBoss({ url, logger: log });
await startWorkerRole({
  boss,
  db: database.db,
  logger: log,
  events: jobMetricsEvents,
  ...workerRoleSettings(env),
});
const metrics = env.METRICS_PORT === undefined ? undefined : await startMetricsServer({ host: env.HOST, port: env.METRICS_PORT });
log.info({ metrics: metrics?.url }, 'worker role ready');

onShutdownSignal(log, async () => {
  // Stop fetching, let running batches finish; what is still running at the timeout is
  // failed back to pg-boss and retried by another worker, so nothing is lost.
  await boss.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS });
  await database.close();
  await metrics?.close();
}, env.SHUTDOWN_TIMEOUT_MS + 5_000);
