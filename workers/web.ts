// The `web` role (Procfile): the HTTP gateway. Wiring and signals only; see src/roles/web.ts.
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { limitHeapGrowth, loadConfigOrExit, onShutdownSignal, requireDatabaseUrl, resolveUpstream } from '../src/roles/lifecycle.ts';
import { startWebRole } from '../src/roles/web.ts';

limitHeapGrowth();
const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'web' });
const databaseUrl = requireDatabaseUrl(env, 'web');
enableProcessMetrics();
const upstream = await resolveUpstream(env, log);
// A model's own upstream key is read from the variable its row names (DESIGN 10).
const web = await startWebRole({ env, logger: log, databaseUrl, upstreamUrl: upstream.url, secrets: (name) => process.env[name] });
log.info({ url: web.gateway.url }, 'web role ready');

onShutdownSignal(
  log,
  async () => {
    await web.close();
    await upstream.devUpstream?.close();
  },
  env.SHUTDOWN_TIMEOUT_MS + 20_000,
);
