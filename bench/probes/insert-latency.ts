// Probe: sequential latency of one single-row INSERT commit vs one pg-boss insert() of 1 and 16 jobs.
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { startBoss } from '../../src/jobs/boss.ts';
import { createLogger } from '../../src/logger.ts';
import { openBenchDatabase } from '../lib/database.ts';
import { percentile } from '../lib/stats.ts';
import { realtimeRequest } from '../../test/helpers/factories.ts';

const db = await openBenchDatabase((l) => process.stderr.write(l + '\n'));
const c = new pg.Client(db.url);
await c.connect();
await c.query('CREATE TABLE t (id bigserial primary key, v text)');
const boss = await startBoss({ url: db.url, logger: createLogger('silent'), supervise: false, schedule: false });
const time = async (n: number, f: () => Promise<unknown>) => {
  const l: number[] = [];
  for (let i = 0; i < n; i++) { const s = performance.now(); await f(); l.push(performance.now() - s); }
  return `p50 ${percentile(l, 50).toFixed(2)} p99 ${percentile(l, 99).toFixed(2)}`;
};
console.log('insert commit', await time(300, () => c.query('INSERT INTO t (v) VALUES ($1)', ['x'])));
console.log('select 1     ', await time(300, () => c.query('SELECT 1')));
console.log('boss.insert 1', await time(300, () => boss.insert('create-response', [{ id: randomUUID(), data: realtimeRequest().create }])));
console.log('boss.insert 16', await time(100, () => boss.insert('create-response', Array.from({ length: 16 }, () => ({ id: randomUUID(), data: realtimeRequest().create })))));
console.log('boss.send 1  ', await time(300, () => boss.send('create-response', realtimeRequest().create)));
await boss.stop({ graceful: false });
await c.end();
await db.close();
process.exit();
