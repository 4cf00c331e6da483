import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';

/**
 * pg-boss sends every statement unnamed, so PostgreSQL parses and plans it on each call. For
 * its hot statements (insert, fetch, complete) planning costs more than running: a one-job
 * insert measured 1.05–1.4 ms unnamed and 0.36–0.58 ms as a named prepared statement
 * (bench/probes/boss-prepared.ts). This runs the statements pg-boss repeats as named
 * prepared statements on its own pool.
 *
 * A statement text is prepared once it has been seen REPEATS times, and at most MAX_NAMES
 * texts are ever prepared, so texts that embed values (a few maintenance statements do)
 * cannot grow the per-connection statement cache without bound. Names are a hash of the
 * text, so one name always means one text. Calls pg-boss makes with a signal or a retire
 * hook (stop() must be able to drop their connection) and calls without parameters go
 * through unchanged.
 */
export const REPEATS = 3;
export const MAX_NAMES = 200;

interface BossDb {
  pool?: pg.Pool;
  executeSql(text: string, values?: unknown[], opts?: object): Promise<{ rows: unknown[] }>;
}

export function prepareRepeatedStatements(boss: PgBoss): void {
  const db = boss.getDb() as unknown as BossDb;
  const original = db.executeSql.bind(db);
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  db.executeSql = (text, values, opts) => {
    if (opts !== undefined || values === undefined || values.length === 0 || !db.pool) return original(text, values, opts);
    let name = names.get(text);
    if (name === undefined) {
      const count = (seen.get(text) ?? 0) + 1;
      if (count < REPEATS || names.size >= MAX_NAMES) {
        if (names.size < MAX_NAMES) seen.set(text, count);
        return original(text, values);
      }
      seen.delete(text);
      name = `pgboss_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
      names.set(text, name);
    }
    return db.pool.query({ name, text, values });
  };
}
