// Probe: retention's statement (src/store/retention.ts) at 500 and 100 rows, and the same
// without its FOR UPDATE SKIP LOCKED, on a seeded database (ROWS, default 1,000,000, over 60
// days; the rows older than 30 days are deleted): time per statement and per row, and WAL per
// row. Each variant starts after a CHECKPOINT, as retention's statements meet pages not yet
// written since the last one. `node_modules/.bin/node bench/probes/retention-statement.ts`.
import pg from 'pg';
import { sql } from 'drizzle-orm';
import { openBenchDatabase } from '../lib/database.ts';
import { seededProbeDatabase } from './seeded-database.ts';
import { deleteRequestsBeforeSql } from '../../src/store/retention.ts';

const log = (l: string) => console.log(l);
const database = await openBenchDatabase(log);
try {
  const { url, d } = await seededProbeDatabase(database, log);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  const before = new Date(Date.now() - 30 * 86_400_000);
  const noLock = (before: Date, limit: number) => sql`
    WITH doomed AS (
      SELECT ctid FROM requests
      WHERE created_at < ${before.toISOString()}::timestamptz AND state IN ('completed', 'failed', 'canceled')
      ORDER BY created_at NULLS FIRST LIMIT ${limit}
    ),
    gone AS (DELETE FROM requests r WHERE r.ctid = ANY (ARRAY(SELECT ctid FROM doomed)) RETURNING r.batch_id),
    batches_gone AS (DELETE FROM batches b USING gone g WHERE b.id = g.batch_id RETURNING 1)
    SELECT (SELECT count(*) FROM gone)::int AS n`;
  const lsn = async () => (await pool.query<{ l: string }>('SELECT pg_current_wal_lsn()::text AS l')).rows[0]!.l;
  const diff = async (a: string) => Number((await pool.query<{ d: string }>('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS d', [a])).rows[0]!.d);
  for (const round of [1, 2]) {
    for (const [name, limit, stmt] of [
      ['lock500', 500, deleteRequestsBeforeSql],
      ['lock100', 100, deleteRequestsBeforeSql],
      ['nolock500', 500, noLock],
      ['nolock100', 100, noLock],
    ] as const) {
      await pool.query('CHECKPOINT');
      const a = await lsn();
      const times: number[] = [];
      let rows = 0;
      for (let i = 0; i < 5000 / limit; i++) {
        const t = performance.now();
        const r = await d.db.execute<{ n: number }>(stmt(before, limit));
        times.push(performance.now() - t);
        rows += r.rows[0]!.n;
      }
      times.sort((x, y) => x - y);
      const wal = await diff(a);
      log(`round ${round} ${name}: ${rows} rows, median ${times[times.length >> 1]!.toFixed(1)} ms/stmt, ${(times.reduce((s, x) => s + x, 0) / rows * 1000).toFixed(0)} us/row, WAL ${(wal / rows).toFixed(0)} B/row`);
    }
  }
  await pool.end();
  await d.close();
} finally {
  await database.close();
}
