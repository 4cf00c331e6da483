// Probe: does retention's statement (src/store/retention.ts, 100 rows) slow down as the rows
// it deleted pile up unvacuumed at the old end of requests_created_at_id_idx? On a seeded
// database (ROWS, default 1,000,000, over 60 days), with autovacuum off for `requests`:
// 600 statements with no vacuum, then 600 with a VACUUM after every 50 (5,000 rows, as
// migration 0002 had it; the vacuum's own time not counted). Median time per 50 statements.
// `node_modules/.bin/node bench/probes/retention-dead-entries.ts`.
import pg from 'pg';
import { openBenchDatabase } from '../lib/database.ts';
import { seededProbeDatabase } from './seeded-database.ts';
import { deleteRequestsBeforeSql } from '../../src/store/retention.ts';

const log = (l: string) => console.log(l);
const database = await openBenchDatabase(log);
try {
  const { url, d } = await seededProbeDatabase(database, log);
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  await pool.query('ALTER TABLE requests SET (autovacuum_enabled = false)');
  await pool.query('VACUUM requests');
  const before = new Date(Date.now() - 30 * 86_400_000);
  for (const vacuumEvery of [0, 50]) {
    const medians: string[] = [];
    let rows = 0;
    for (let block = 0; block < 12; block++) {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t = performance.now();
        rows += (await d.db.execute<{ n: number }>(deleteRequestsBeforeSql(before, 100))).rows[0]!.n;
        times.push(performance.now() - t);
      }
      times.sort((x, y) => x - y);
      medians.push(times[25]!.toFixed(2));
      if (vacuumEvery > 0) await pool.query('VACUUM requests');
    }
    log(`vacuum every ${vacuumEvery || 'never'}: ${rows} rows; median ms per statement by 50: ${medians.join(' ')}`);
    await pool.query('VACUUM requests');
  }
  await pool.end();
  await d.close();
} finally {
  await database.close();
}
