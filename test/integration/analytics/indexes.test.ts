// The plans the request log and retention depend on, on a table big enough (20,000 rows) for
// the planner to prefer an index when one fits. Both were found by the bench's seeded
// database (P5, retention), not by the small tables of the other tests:
// - Retention deletes a request's batch with it, and the foreign key requests.batch_id →
//   batches makes PostgreSQL look up, for every batch deleted, the requests still pointing
//   at it; without an index on batch_id that is a scan of the whole table per batch.
// - Retention takes the oldest rows first, the log pages newest first. A page whose ORDER BY the indexes do not match exactly
//   (`DESC` is NULLS FIRST; the indexes are DESC NULLS LAST) sorts every matching row.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { applyRetention } from '../../../src/jobs/handlers/sweep.ts';
import { deleteRequestsBeforeSql } from '../../../src/store/retention.ts';
import { deleteMinuteRollupsBeforeSql, foldPendingUsage, ROLLUP_TABLES } from '../../../src/store/usage-fold.ts';
import { encodeCursor, listRequests, requestPageSql, type RequestFilters } from '../../../src/store/request-log.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let t: TestDatabase;
const user = randomUUID();
const key = randomUUID();
beforeAll(async () => {
  t = await createTestDatabase();
  await t.pool.query(`INSERT INTO users (id, name) VALUES ($1, 'plan-user')`, [user]);
  await t.pool.query(`INSERT INTO api_keys (id, user_id, secret_hash, prefix) VALUES ($1, $2, 'h', 'vk')`, [key, user]);
  // 20,000 finished rows of ten days ago and before, each with its batch of one, over four
  // models and ten owners (one of them plan-user, with its key); metadata team=common on 1 in
  // 5, team=rare on 3, team=old on the oldest 100.
  await t.pool.query(
    `WITH b AS (INSERT INTO batches (id, created_by, endpoint, completion_window)
                SELECT gen_random_uuid(), $1, '/v1/chat/completions', '0s' FROM generate_series(1, 20000) RETURNING id),
     n AS (SELECT id, row_number() OVER () AS i FROM b)
     INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by, api_key_id, response_status, response_body,
                           completed_at, received_at, created_at, metadata)
     SELECT gen_random_uuid(), n.id, 'completed', '/v1/chat/completions', 'model-' || (n.i % 4), '{}',
            CASE WHEN n.i % 10 = 0 THEN $1::uuid ELSE gen_random_uuid() END, CASE WHEN n.i % 10 = 0 THEN $2::uuid END, 200, '{}',
            now() - interval '10 days' - n.i * interval '1 minute', now() - interval '10 days' - n.i * interval '1 minute',
            now() - interval '10 days' - n.i * interval '1 minute',
            CASE WHEN n.i IN (7, 777, 7777) THEN '{"team": "rare"}'::jsonb WHEN n.i > 19900 THEN '{"team": "old"}'::jsonb WHEN n.i % 5 = 0 THEN '{"team": "common"}'::jsonb END
     FROM n`,
    [user, key],
  );
  // Their usage rollups: 20,000 minutes, so minute rows by the ten thousand in each table.
  expect(await foldPendingUsage(t.db)).toBe(20_000);
  await t.pool.query('ANALYZE requests, batches, users, usage_rollups, usage_rollups_by_key');
});
afterAll(async () => t?.drop());

const planOf = async (query: ReturnType<typeof sql>): Promise<string> => {
  const result = await t.db.execute<{ 'QUERY PLAN': unknown }>(sql`EXPLAIN (FORMAT JSON) ${query}`);
  return JSON.stringify(result.rows[0]!['QUERY PLAN']);
};

it("the foreign key's lookup of a deleted batch's requests uses an index, not a scan of the table", async () => {
  // The statement PostgreSQL's referential-integrity trigger runs for each deleted batch.
  const plan = await planOf(sql`SELECT 1 FROM ONLY requests x WHERE batch_id = ${randomUUID()}::uuid FOR KEY SHARE OF x`);
  expect(plan).not.toContain('Seq Scan');
  expect(plan).toMatch(/"Index Name":\s*"requests_batch_id_idx"/);
});

// The planner may read a common value's page off the time index and filter; either way the
// rows come off an index in the page's order.
it.each<[string, () => RequestFilters, string[]]>([
  ['no filter', () => ({}), ['requests_created_at_id_idx']],
  ['a model', () => ({ model: 'model-2' }), ['requests_model_created_at_idx', 'requests_created_at_id_idx']],
  ['a user (by name)', () => ({ user: 'plan-user' }), ['requests_created_by_created_at_idx']],
  ['an API key', () => ({ apiKeyId: key }), ['requests_api_key_created_at_idx']],
])('a log page with %s is read off an index in order, without sorting the matches', async (_name, filters, indexes) => {
  for (const cursor of [undefined, encodeCursor(new Date(Date.now() - 12 * 86_400_000).toISOString(), randomUUID())]) {
    const plan = await planOf(requestPageSql(filters(), { limit: 50, ...(cursor ? { cursor } : {}) }));
    expect(plan).not.toMatch(/"Node Type":\s*"(Sort|Incremental Sort)"/);
    const used = [...plan.matchAll(/"Index Name":"([a-z_]+)"/g)].map((m) => m[1]);
    expect(used.some((i) => indexes.includes(i!))).toBe(true);
  }
});

it("a common metadata pair's page is read in time order; a rare one's from the metadata index; both give the filter's rows", async () => {
  const common = { metadata: { team: 'common' } };
  for (const opts of [{ metadataIndexed: false }, { metadataPrefix: 10_000 }]) {
    const plan = await planOf(requestPageSql(common, { limit: 50, ...opts }));
    expect(plan).not.toMatch(/"Node Type":\s*"(Sort|Incremental Sort)"/);
    expect(plan).not.toContain('requests_metadata_idx');
  }
  // common fills its page among the newest rows; rare has three rows in all; old has a
  // hundred, all beyond the first 10,000 rows the page looks among before it probes.
  const expected = { common: 50, rare: 3, old: 50 };
  for (const filters of [common, { metadata: { team: 'rare' } }, { metadata: { team: 'old' } }, { metadata: { team: 'common' }, model: 'model-1' }]) {
    const page = await listRequests(t.db, filters, { limit: 50 });
    // The plain filter (the metadata index allowed) as the reference.
    const reference = await t.db.execute<{ id: string }>(requestPageSql(filters, { limit: 50, metadataIndexed: true }));
    expect(page.rows.map((r) => r.id)).toEqual(reference.rows.slice(0, 50).map((r) => r.id));
    expect(page.rows.length).toBe(expected[filters.metadata.team as keyof typeof expected]);
    expect(page.next !== undefined).toBe(reference.rows.length > 50);
    if (page.next) {
      // The next page, by either path, continues where this one stopped.
      const second = await listRequests(t.db, filters, { limit: 50, cursor: page.next });
      const rest = await t.db.execute<{ id: string }>(requestPageSql(filters, { limit: 50, cursor: page.next, metadataIndexed: true }));
      expect(second.rows.map((r) => r.id)).toEqual(rest.rows.slice(0, 50).map((r) => r.id));
    }
  }
});

it("retention's oldest rows come off the time index in order, without sorting every old row", async () => {
  const plan = await planOf(deleteRequestsBeforeSql(new Date(Date.now() - 5 * 86_400_000), 500));
  expect(plan).not.toMatch(/"Node Type":\s*"(Sort|Incremental Sort)"/);
  expect(plan).toContain('"Index Name":"requests_created_at_id_idx"');
});

it('retention deletes the rows it locked by their tuple ids, not by a second probe of the primary key', async () => {
  const plan = await planOf(deleteRequestsBeforeSql(new Date(Date.now() - 5 * 86_400_000), 500));
  expect(plan).toMatch(/"Node Type":\s*"Tid Scan"/);
  expect(plan).not.toContain('"Index Name":"requests_pkey"');
});

it.each(ROLLUP_TABLES)("retention's oldest minute rows of %s come off the primary key in order, without a sort", async (table) => {
  const plan = await planOf(deleteMinuteRollupsBeforeSql(table, new Date(Date.now() - 5 * 86_400_000), 500));
  expect(plan).not.toMatch(/"Node Type":\s*"(Sort|Incremental Sort)"/);
  expect(plan).toContain(`"Index Name":"${table}_pk"`);
  expect(plan).toMatch(/"Node Type":\s*"Tid Scan"/);
});

it('retention deletes old rows and their batches, and minute rollups but not hour or day ones', async () => {
  const rollups = async () =>
    (
      await t.pool.query<{ t: string; g: string; n: number }>(
        `SELECT 'coarse' AS t, granularity AS g, sum(requests)::int AS n FROM usage_rollups GROUP BY 2
         UNION ALL SELECT 'by_key', granularity, sum(requests)::int FROM usage_rollups_by_key GROUP BY 2 ORDER BY 1, 2`,
      )
    ).rows;
  expect(await rollups()).toEqual(
    ['by_key', 'coarse'].flatMap((table) => ['day', 'hour', 'minute'].map((g) => ({ t: table, g, n: 20_000 }))),
  );
  const deleted = await applyRetention(t.db, { retentionDays: 5, batch: 2_000, budgetMs: 60_000 });
  expect(deleted.requests).toBe(20_000);
  const { rows } = await t.pool.query<{ r: number; b: number }>(
    `SELECT (SELECT count(*) FROM requests)::int AS r, (SELECT count(*) FROM batches)::int AS b`,
  );
  expect(rows[0]).toEqual({ r: 0, b: 0 });
  const { rows: minutes } = await t.pool.query<{ n: number }>(
    `SELECT (SELECT count(*) FROM usage_rollups WHERE granularity = 'minute') + (SELECT count(*) FROM usage_rollups_by_key WHERE granularity = 'minute') AS n`,
  );
  expect(deleted.minuteRollups).toBeGreaterThan(20_000);
  expect(Number(minutes[0]!.n)).toBe(0);
  expect(await rollups()).toEqual(
    ['by_key', 'coarse'].flatMap((table) => ['day', 'hour'].map((g) => ({ t: table, g, n: 20_000 }))),
  );
});
