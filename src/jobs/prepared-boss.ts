import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db as BossDatabase, PgBoss } from 'pg-boss';

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

type ExecuteSql = (text: string, values?: unknown[], opts?: object) => ReturnType<BossDatabase['executeSql']>;

interface BossDb {
  pool?: pg.Pool;
  executeSql: ExecuteSql;
}

/** Makes pg-boss's own pool run its repeated statements prepared (hooked in startBoss). */
export function prepareRepeatedStatements(boss: PgBoss): void {
  const db = boss.getDb() as unknown as BossDb;
  db.executeSql = preparingExecutor(() => db.pool, db.executeSql.bind(db)).executeSql;
}

/**
 * An executor for pg-boss calls that runs on `pool()`, preparing repeated texts as above.
 * `fallback` runs what is not prepared (default: an unnamed query on the pool).
 */
export function preparingExecutor(
  pool: () => pg.Pool | undefined,
  fallback: ExecuteSql = (text, values) => pool()!.query(text, values),
): { executeSql: ExecuteSql } {
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  return {
    executeSql: (text, values, opts) => {
      const target = pool();
      if (opts !== undefined || values === undefined || values.length === 0 || !target) return fallback(text, values, opts);
      let name = names.get(text);
      if (name === undefined) {
        const count = (seen.get(text) ?? 0) + 1;
        if (count < REPEATS || names.size >= MAX_NAMES) {
          if (names.size < MAX_NAMES) seen.set(text, count);
          return fallback(text, values);
        }
        seen.delete(text);
        name = `pgboss_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
        names.set(text, name);
      }
      return target.query({ name, text, values });
    },
  };
}
