// `npm start`: every role in one process. With DATABASE_URL unset it runs on an embedded
// PostgreSQL under DATA_DIR; with UPSTREAM_URL unset it serves the built-in development
// upstream (not a real model). It applies migrations (the release step) on start, then runs
// every role (src/roles/all-in-one.ts) and prints how to call it. Production runs the roles
// as separate processes (Procfile). Wiring and signals only.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { EmbeddedServer } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import type { DevUpstream } from '../src/dev-upstream/server.ts';
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { startAllRoles, type AllRoles } from '../src/roles/all-in-one.ts';
import { limitHeapGrowth, loadConfigOrExit, onShutdownSignal, resolveUpstream } from '../src/roles/lifecycle.ts';
import { banner, embeddedAdminToken, ensureDevKey, startEmbeddedPostgresWithoutItsSignalHandlers } from '../src/roles/npm-start.ts';

limitHeapGrowth();
const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'all-in-one' });
enableProcessMetrics();

const dataDir = path.resolve(env.DATA_DIR);
let embedded: EmbeddedServer | undefined;
let devUpstream: DevUpstream | undefined;
let roles: AllRoles | undefined;

async function stopAll(): Promise<void> {
  // The gateway finishes its requests and stores their completions while the workers and
  // the database are still there to take them; the embedded server stops last.
  await roles?.close();
  await devUpstream?.close();
  await embedded?.stop();
}

try {
  let url = env.DATABASE_URL;
  if (url === undefined) {
    await mkdir(dataDir, { recursive: true });
    embedded = await startEmbeddedPostgresWithoutItsSignalHandlers(path.join(dataDir, 'pg'), log);
    url = embedded.url('postgres');
  }
  await migrateDatabase(url);
  const adminToken = env.ADMIN_TOKEN ?? (await embeddedAdminToken(dataDir));
  const upstream = await resolveUpstream(env, log);
  devUpstream = upstream.devUpstream;
  roles = await startAllRoles({ env, logger: log, databaseUrl: url, upstreamUrl: upstream.url, adminToken, secrets: (name) => process.env[name] });
  // A ready-made key only on an embedded database: on a real one, keys are the operator's
  // business (the admin API).
  const devKey = embedded ? await ensureDevKey(roles.database.db, adminToken) : undefined;
  process.stdout.write(
    banner({
      url: roles.web.gateway.url,
      adminToken,
      generatedToken: env.ADMIN_TOKEN === undefined,
      devKey,
      dataDir,
      embeddedDataDir: embedded?.dataDir,
      upstream: { dev: devUpstream !== undefined, url: upstream.url },
    }),
  );
} catch (err) {
  const code = (err as { code?: string }).code;
  if (code === 'EADDRINUSE') {
    process.stderr.write(`volley: port ${env.PORT} on ${env.HOST} is already in use; set PORT to another port\n`);
  } else {
    process.stderr.write(`volley: could not start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  await stopAll().catch(() => {});
  process.exit(1);
}

onShutdownSignal(log, stopAll, env.SHUTDOWN_TIMEOUT_MS + 20_000);
