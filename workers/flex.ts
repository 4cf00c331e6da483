// The `flex` role: runs process-request jobs (background and flex requests) against the upstream.
import { openDatabase } from '../src/db/client.ts';
import { startBoss } from '../src/jobs/boss.ts';
import { requestProcessorSettings, startRequestProcessor } from '../src/jobs/request-processor.ts';
import { loadConfigOrExit, onShutdownSignal, requireDatabaseUrl, resolveUpstream } from '../src/roles/lifecycle.ts';
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { jobMetricsEvents } from '../src/jobs/run.ts';
import { startMetricsServer } from '../src/roles/metrics-server.ts';
import { Listener } from '../src/poller/listener.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'flex' });
const url = requireDatabaseUrl(env, 'flex');
enableProcessMetrics();

const { url: upstreamUrl, devUpstream } = await resolveUpstream(env, log);

const settings = requestProcessorSettings(env, upstreamUrl);
// Each running job holds a pool connection only while it reads or writes its row.
const database = openDatabase(url, { max: 10, applicationName: 'volley-flex' });
const listener = new Listener({ url, logger: log });
await listener.start();
// A flex process that dies mid-call leaves its job active until its heartbeat (10 s) goes
// stale and a supervisor notices; supervising every 10 s (pg-boss's default is 60 s) hands
// such a job to another process within about 20 s.
const boss = await startBoss({
  url,
  logger: log,
  extra: { superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 },
});
const processor = await startRequestProcessor({
  boss,
  db: database.db,
  listener,
  logger: log,
  events: jobMetricsEvents,
  ...settings,
});
const metrics = env.METRICS_PORT === undefined ? undefined : await startMetricsServer({ host: env.HOST, port: env.METRICS_PORT });
log.info(
  { localConcurrency: settings.localConcurrency, modelConcurrency: settings.modelConcurrency, metrics: metrics?.url },
  'flex role ready',
);

onShutdownSignal(log, async () => {
  // Stop fetching and let running attempts finish; an attempt still running at the timeout
  // is aborted and failed back to pg-boss, and its retry (in any process) takes the row over.
  await boss.stop({ graceful: true, timeout: env.SHUTDOWN_TIMEOUT_MS });
  await processor.stop();
  await listener.stop();
  await database.close();
  await devUpstream?.close();
  await metrics?.close();
});
