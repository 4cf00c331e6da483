// Probe: sequential latency of the gateway's inline create-response write (one batch-of-1 row
// pair through InlineCreateResponse), against a plain single-row INSERT commit.
import pg from 'pg';
import { openDatabase } from '../../src/db/client.ts';
import { InlineCreateResponse } from '../../src/gateway/recording.ts';
import { openBenchDatabase } from '../lib/database.ts';
import { percentile } from '../lib/stats.ts';
import { realtimeRequest } from '../../test/helpers/factories.ts';

const db = await openBenchDatabase((l) => process.stderr.write(l + '\n'));
const c = new pg.Client(db.url);
await c.connect();
await c.query('CREATE TABLE t (id bigserial primary key, v text)');
const handle = openDatabase(db.url, { max: 4, applicationName: 'probe' });
const inline = new InlineCreateResponse(handle.db);
const time = async (n: number, f: () => Promise<unknown>) => {
  const l: number[] = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); await f(); l.push(performance.now() - s); }
  return `p50 ${percentile(l, 50).toFixed(3)} p99 ${percentile(l, 99).toFixed(3)}`;
};
for (let round = 0; round < 2; round++) {
  console.log('insert commit   ', await time(2000, () => c.query('INSERT INTO t (v) VALUES ($1)', ['x'])));
  console.log('inline create   ', await time(2000, () => inline.record(realtimeRequest().create)));
  console.log('select 1        ', await time(2000, () => c.query('SELECT 1')));
}
await inline.close();
await handle.close();
await c.end();
if (process.env.BENCH_PG_STATEMENTS) console.log(await db.statementReport());
await db.close();
