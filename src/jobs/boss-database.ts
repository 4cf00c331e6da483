import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { Db as BossDatabase } from 'pg-boss';
import type { Listener } from '../poller/listener.ts';

/**
 * The database pg-boss runs on, handed to it through its public `db` option: our own pool
 * (whose clients' errors are handled, db/client.ts), our process's one LISTEN connection for
 * its wake-ups, and its repeated statements run as named prepared statements.
 *
 * pg-boss sends every statement unnamed, so PostgreSQL parses and plans it on each call.
 * For its hot statements (insert, fetch, complete) planning costs more than running: a
 * one-job insert measured 1.05–1.4 ms unnamed and 0.36–0.58 ms as a named prepared
 * statement (bench/probes/boss-prepared.ts). A statement text is prepared once it has been
 * seen REPEATS times, and at most MAX_NAMES texts are ever prepared, so texts that embed
 * values (a few maintenance statements do) cannot grow the per-connection statement cache
 * without bound. Names are a hash of the text, so one name always means one text.
 */
export const REPEATS = 3;
export const MAX_NAMES = 200;

/** pg-boss's IDatabase over `pool`; with a `listener`, LISTEN/NOTIFY wake-ups through it. */
export function bossDatabase(pool: pg.Pool, listener?: Listener): BossDatabase & { pool: pg.Pool } {
  const database: BossDatabase & { pool: pg.Pool } = { pool, executeSql: preparingExecutor(pool).executeSql };
  if (listener) {
    // pg-boss calls onReconnect after every (re)subscription, the first included, so that it
    // fetches whatever was inserted while it was not listening.
    database.listen = async (channel, onNotification, onReconnect) => {
      await listener.start();
      const unsubscribe = await listener.subscribe(channel, onNotification);
      const offReconnect = listener.onReconnect(onReconnect);
      onReconnect();
      return {
        close: async () => {
          unsubscribe();
          offReconnect();
        },
      };
    };
  }
  return database;
}

/** An executor that runs on `pool`, preparing texts that repeat (see above). */
export function preparingExecutor(pool: pg.Pool): Pick<BossDatabase, 'executeSql'> {
  const seen = new Map<string, number>();
  const names = new Map<string, string>();
  return {
    executeSql: (text, values) => {
      if (values === undefined || values.length === 0) return pool.query(text);
      let name = names.get(text);
      if (name === undefined) {
        const count = (seen.get(text) ?? 0) + 1;
        if (count < REPEATS || names.size >= MAX_NAMES) {
          if (names.size < MAX_NAMES) seen.set(text, count);
          return pool.query(text, values);
        }
        seen.delete(text);
        name = `pgboss_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
        names.set(text, name);
      }
      return pool.query({ name, text, values });
    },
  };
}
