// The `flex` role (Procfile): process-request jobs (background and flex requests) against the
// upstream. Wiring and signals only; see src/roles/flex.ts.
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { limitHeapGrowth, loadConfigOrExit, onShutdownSignal, requireDatabaseUrl, resolveUpstream } from '../src/roles/lifecycle.ts';
import { startFlexRole } from '../src/roles/flex.ts';

limitHeapGrowth();
const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'flex' });
const databaseUrl = requireDatabaseUrl(env, 'flex');
enableProcessMetrics();
const upstream = await resolveUpstream(env, log);
// A model's own upstream key is read from the variable its row names (DESIGN 10).
const flex = await startFlexRole({ env, logger: log, databaseUrl, upstreamUrl: upstream.url, secrets: (name) => process.env[name] });
log.info({ localConcurrency: env.PROCESSOR_CONCURRENCY, modelConcurrency: env.MODEL_CONCURRENCY, metrics: flex.metricsUrl }, 'flex role ready');

onShutdownSignal(log, async () => {
  await flex.close();
  await upstream.devUpstream?.close();
});
