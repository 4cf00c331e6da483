// pg-boss runs on volley's database adapter (src/jobs/boss-database.ts): its repeated
// statements run as named prepared statements, and the cache of names is bounded.
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoss } from '../../../src/jobs/boss.ts';
import { MAX_NAMES, REPEATS, preparingExecutor } from '../../../src/jobs/boss-database.ts';
import { QUEUES } from '../../../src/jobs/definitions.ts';
import { Producer } from '../../../src/jobs/producer.ts';
import { openDatabase } from '../../../src/db/client.ts';
import { createLogger } from '../../../src/logger.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { realtimeRequest } from '../../helpers/factories.ts';

let t: TestDatabase;
let boss: PgBoss;
// One connection, so every statement below runs in the session whose statements we read.
const pool = () => (boss.getDb() as unknown as { pool: pg.Pool }).pool;
const prepared = async () =>
  (await pool().query<{ name: string; statement: string }>(`SELECT name, statement FROM pg_prepared_statements`)).rows;

beforeAll(async () => {
  t = await createTestDatabase();
  boss = await startBoss({ url: t.url, logger: createLogger('silent'), max: 1, supervise: false, schedule: false });
});
afterAll(async () => {
  await boss.stop({ graceful: false });
  await t.drop();
});

describe("pg-boss's repeated statements run prepared", () => {
  it('prepares an insert once it repeats, and the jobs it inserts are the same jobs', async () => {
    const records = Array.from({ length: REPEATS + 2 }, () => realtimeRequest().create);
    for (const r of records) await boss.send(QUEUES.createResponse, r);
    const names = (await prepared()).filter((s) => s.name.startsWith('pgboss_') && s.statement.includes('INSERT INTO pgboss.'));
    expect(names.length).toBe(1);
    for (const r of records) {
      const [job] = await boss.findJobs(QUEUES.createResponse, { data: { requestId: r.requestId } });
      expect(job?.data).toEqual(r);
    }
  });

  it(`never prepares more than ${MAX_NAMES} texts, however many distinct ones it sees`, async () => {
    const db = boss.getDb();
    for (let i = 0; i < MAX_NAMES + 50; i++) {
      for (let k = 0; k < REPEATS; k++) {
        const { rows } = await db.executeSql(`SELECT $1::int + ${i} AS n`, [k]);
        expect(rows[0].n).toBe(k + i);
      }
    }
    const names = (await prepared()).filter((s) => s.name.startsWith('pgboss_'));
    expect(names.length).toBe(MAX_NAMES);
  });
});

describe("a producer's create-response pool", () => {
  it('inserts create-response jobs through that pool, prepared, and complete-response through pg-boss', async () => {
    const create = openDatabase(t.url, { max: 1, synchronousCommit: false });
    const producer = new Producer(boss, { createDb: preparingExecutor(create.pool) });
    try {
      const fixtures = Array.from({ length: REPEATS + 1 }, () => realtimeRequest());
      for (const f of fixtures) await producer.enqueueCreateResponse(f.create);
      await producer.enqueueCompleteResponse(fixtures[0]!.complete);
      const onCreatePool = (
        await create.pool.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements WHERE name LIKE 'pgboss_%'`)
      ).rows.map((r) => r.statement);
      expect(onCreatePool).toHaveLength(1);
      expect(onCreatePool[0]).toContain(`'${QUEUES.createResponse}' as name`);
      for (const f of fixtures) {
        const [job] = await boss.findJobs(QUEUES.createResponse, { data: { requestId: f.create.requestId } });
        expect(job?.data).toEqual(f.create);
      }
      const [complete] = await boss.findJobs(QUEUES.completeResponse, { data: { requestId: fixtures[0]!.create.requestId } });
      expect(complete?.data).toEqual(JSON.parse(JSON.stringify(fixtures[0]!.complete)));
    } finally {
      await producer.close();
      await create.close();
    }
  });
});
