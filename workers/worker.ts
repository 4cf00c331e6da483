// The `worker` role (Procfile): create-response and complete-response jobs, plus the sweeper.
// Wiring and signals only; see src/roles/worker.ts.
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { limitHeapGrowth, loadConfigOrExit, onShutdownSignal, requireDatabaseUrl } from '../src/roles/lifecycle.ts';
import { startWorkerRole } from '../src/roles/worker.ts';

limitHeapGrowth();
const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'worker' });
const databaseUrl = requireDatabaseUrl(env, 'worker');
enableProcessMetrics();
const worker = await startWorkerRole({ env, logger: log, databaseUrl });
log.info({ metrics: worker.metricsUrl }, 'worker role ready');

onShutdownSignal(log, () => worker.close(), env.SHUTDOWN_TIMEOUT_MS + 5_000);
