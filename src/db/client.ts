import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema/index.ts';

export type Db = NodePgDatabase<typeof schema>;
/** The transaction handle drizzle passes to `db.transaction(async (tx) => …)`. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];
/** Anything store functions can run on: the pool-backed database or an open transaction. */
export type Executor = Db | Tx;

export interface Database {
  pool: pg.Pool;
  db: Db;
  close(): Promise<void>;
}

// node-postgres returns int8 (bigint, count(*)) as strings; every int8 we read fits in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** How long an idle pooled connection is kept (ours and pg-boss's pools). */
export const IDLE_CONNECTION_MS = 300_000;

export interface DatabaseOptions {
  max?: number;
  applicationName?: string;
  /**
   * false: this pool's commits return before their WAL is flushed (synchronous_commit=off).
   * Only for writes that a later synchronous write repeats in full (see InlineCreateResponse).
   */
  synchronousCommit?: boolean;
}

export function openDatabase(url: string, opts: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.max ?? 10,
    application_name: opts.applicationName ?? 'volley',
    // pg's default closes a connection idle for 10 s; the next burst then pays a backend
    // start (fork and authentication, several ms) on its requests' latency.
    idleTimeoutMillis: IDLE_CONNECTION_MS,
    ...(opts.synchronousCommit === false ? { options: '-c synchronous_commit=off' } : {}),
  });
  // A client losing its connection (server restart, failover, a killed backend) must not end
  // the process. pg-pool listens for errors only on idle clients and takes its listener off
  // a client it hands out, so a connection that dies while checked out (a transaction
  // between two statements) would emit 'error' with nobody listening: an uncaught
  // exception. Every client gets a listener of its own for its whole life; the statement in
  // flight (or the next one) rejects with the error, which is where callers handle it.
  pool.on('error', () => {});
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = drizzle({ client: pool, schema, casing: 'snake_case' });
  return { pool, db, close: () => pool.end() };
}
