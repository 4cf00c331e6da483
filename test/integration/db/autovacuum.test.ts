import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

/** Dead (or inserted) rows after which autovacuum visits `requests`, for a table of `rows` rows. */
async function vacuumAfter(rows: number): Promise<{ dead: number; inserted: number; costDelay: string | null }> {
  const { rows: got } = await t.pool.query<{ options: string[] | null }>(`SELECT reloptions AS options FROM pg_class WHERE oid = 'requests'::regclass`);
  const options = new Map((got[0]?.options ?? []).map((o) => [o.slice(0, o.indexOf('=')), o.slice(o.indexOf('=') + 1)]));
  const setting = async (name: string): Promise<number> =>
    Number(options.get(name) ?? (await t.pool.query<{ v: string }>(`SELECT current_setting($1) AS v`, [name])).rows[0]!.v);
  return {
    dead: (await setting('autovacuum_vacuum_threshold')) + (await setting('autovacuum_vacuum_scale_factor')) * rows,
    inserted: (await setting('autovacuum_vacuum_insert_threshold')) + (await setting('autovacuum_vacuum_insert_scale_factor')) * rows,
    costDelay: options.get('autovacuum_vacuum_cost_delay') ?? null,
  };
}

describe('autovacuum of requests (migrations 0002, 0009)', () => {
  // A pass that finds enough dead index entries reads every index of the table in full, so
  // its interval must grow with the table for the work per request to stay constant.
  it('vacuums a small table after a few thousand changes, a large one after 1 % of its rows', async () => {
    const small = await vacuumAfter(10_000);
    expect(small.dead).toBeLessThanOrEqual(5_100);
    expect(small.inserted).toBeLessThanOrEqual(20_100);
    const large = await vacuumAfter(5_000_000);
    expect(large.dead).toBeGreaterThanOrEqual(50_000);
    expect(large.inserted).toBeGreaterThanOrEqual(50_000);
  });

  it('is throttled as PostgreSQL throttles any table (no table-level cost delay of 0)', async () => {
    expect((await vacuumAfter(0)).costDelay).toBeNull();
  });
});
