// Probe: sequential Producer.enqueueCreateResponse latency, without and with a worker process consuming.
import { startBoss } from '../../src/jobs/boss.ts';
import { Producer } from '../../src/jobs/producer.ts';
import { createLogger } from '../../src/logger.ts';
import { openBenchDatabase } from '../lib/database.ts';
import { spawnRole } from '../lib/processes.ts';
import { percentile, sleep } from '../lib/stats.ts';
import { realtimeRequest } from '../../test/helpers/factories.ts';

const db = await openBenchDatabase((l) => process.stderr.write(l + '\n'));
const boss = await startBoss({ url: db.url, logger: createLogger('silent'), supervise: false, schedule: false });
const producer = new Producer(boss);
const run = async (label: string) => {
  const c: number[] = [];
  const p: number[] = [];
  for (let i = 0; i < 400; i++) {
    const r = realtimeRequest();
    let s = performance.now();
    await producer.enqueueCreateResponse(r.create);
    c.push(performance.now() - s);
    await sleep(1);
    s = performance.now();
    await producer.enqueueCompleteResponse(r.complete);
    p.push(performance.now() - s);
  }
  console.log(label, 'create p50', percentile(c, 50).toFixed(2), 'p99', percentile(c, 99).toFixed(2), '| complete p50', percentile(p, 50).toFixed(2));
};
await run('no worker  ');
const w = spawnRole('worker', 'workers/worker.ts', { DATABASE_URL: db.url, ADMIN_TOKEN: 'x'.repeat(20), LOG_LEVEL: 'warn' });
await sleep(3000);
await run('with worker');
await run('with worker');
await w.stop();
await boss.stop({ graceful: false });
await db.close();
process.exit();
