import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/client.ts';
import { PreparedStatement } from '../../../src/db/prepared.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const sum = new PreparedStatement<{ xs: number[]; label: string }>(
  'volley_test_sum',
  sql`SELECT ${sql.placeholder('label')}::text || ${'-'}::text || sum(x)::text AS out
      FROM unnest(${sql.placeholder('xs')}::int[]) AS x`,
);

describe('PreparedStatement', () => {
  it('runs as a named statement on the pool, with array values and built-in constants', async () => {
    // One connection, so the session that prepared it is the one we ask.
    const one = openDatabase(t.url, { max: 1 });
    try {
      expect(await sum.run(one.db, { xs: [1, 2, 3], label: 'a' })).toEqual([{ out: 'a-6' }]);
      expect(await sum.run(one.db, { xs: [10], label: 'b' })).toEqual([{ out: 'b-10' }]);
      const { rows } = await one.pool.query(`SELECT statement FROM pg_prepared_statements WHERE name = 'volley_test_sum'`);
      expect(rows).toHaveLength(1);
      expect(rows[0].statement).toBe(sum.text);
    } finally {
      await one.close();
    }
  });

  it('runs inside a drizzle transaction, which exposes no client, with the same results', async () => {
    const out = await t.db.transaction(async (tx) => sum.run(tx, { xs: [4, 5], label: 'tx' }));
    expect(out).toEqual([{ out: 'tx-9' }]);
  });
});
