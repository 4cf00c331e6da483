// Probe: P4 with the stock flex role vs the same role with burstWhenBatchFull on process-request.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../../src/db/client.ts';
import { freePort } from '../../src/db/embedded.ts';
import { startBoss } from '../../src/jobs/boss.ts';
import { createLogger } from '../../src/logger.ts';
import { openBenchDatabase } from '../lib/database.ts';
import { spawnRole, waitForHttp } from '../lib/processes.ts';
import { runP4 } from '../p4-processor.ts';

const log = (l: string) => process.stderr.write(`${l}\n`);
const database = await openBenchDatabase(log);
const port = await freePort();
const up = spawnRole('dev-upstream', 'src/dev-upstream/main.ts', { DEV_UPSTREAM_PORT: String(port) });
await waitForHttp(`http://127.0.0.1:${port}/v1/models`, up);
const common = { DATABASE_URL: database.url, ADMIN_TOKEN: randomBytes(16).toString('hex'), UPSTREAM_URL: `http://127.0.0.1:${port}/v1`, LOG_LEVEL: 'warn' };
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
const db = openDatabase(database.url, { max: 4 });
const boss = await startBoss({ url: database.url, logger: createLogger('silent'), supervise: false, schedule: false, max: 4 });
for (const [label, entry, burst, n] of [
  ['stock workers/flex.ts', 'workers/flex.ts', '0', 300],
  ['burstWhenBatchFull', 'bench/probes/flex-burst-role.ts', '1', 3000],
] as const) {
  const r = await runP4({ url: database.url, db: db.db, pool, boss, reps: 2, requests: n, maxSeconds: 15, log,
    startFlex: () => spawnRole('flex', entry, { ...common, PROBE_BURST: burst }) });
  console.log(label, 'req/s', r.runs.map((x) => x.req_per_s.toFixed(0)).join(', '), 'lost', r.lost, 'unfinished', r.unfinished);
}
await boss.stop({ graceful: false });
await up.stop();
await pool.end();
await db.close();
await database.close();
process.exit();
