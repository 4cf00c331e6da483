// Probe: one pg-boss insert() of 1 and 15 tracking records: pg-boss as startBoss sets it up
// (its hot statements prepared, see src/jobs/prepared-boss.ts), an unnamed statement through
// a plain adapter, and a named prepared statement through an adapter.
import pg from 'pg';
import { createHash } from 'node:crypto';
import { startBoss } from '../../src/jobs/boss.ts';
import { createLogger } from '../../src/logger.ts';
import { QUEUES } from '../../src/jobs/definitions.ts';
import { trackingJobs } from '../../src/jobs/producer.ts';
import { openBenchDatabase } from '../lib/database.ts';
import { percentile } from '../lib/stats.ts';
import { realtimeRequest } from '../../test/helpers/factories.ts';
const db = await openBenchDatabase(() => {});
const pool = new pg.Pool({ connectionString: db.url, max: 1 });
const boss = await startBoss({ url: db.url, logger: createLogger('silent'), supervise: false, schedule: false, max: 4 });
const prepared = { executeSql: (text: string, values: unknown[]) => pool.query({ name: 'pgb_' + createHash('sha1').update(text).digest('hex').slice(0, 20), text, values }) };
const plain = { executeSql: (text: string, values: unknown[]) => pool.query(text, values) };
const time = async (n: number, f: () => Promise<unknown>) => {
  const l: number[] = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); await f(); l.push(performance.now() - s); }
  return `p50 ${percentile(l, 50).toFixed(3)} p99 ${percentile(l, 99).toFixed(3)}`;
};
for (let r = 0; r < 2; r++) for (const [label, opt] of [['boss-own', {}], ['plain', { db: plain }], ['prepared', { db: prepared }]] as const) {
  for (const n of [1, 15]) {
    const recs = () => Array.from({ length: n }, () => realtimeRequest().create);
    console.log(label, n, await time(400, () => boss.insert(QUEUES.createResponse, trackingJobs(QUEUES.createResponse, recs()), opt)));
  }
}
await boss.stop({ graceful: false }); await pool.end(); await db.close(); process.exit(0);
