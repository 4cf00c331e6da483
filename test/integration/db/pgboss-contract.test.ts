// The contract between volley's own SQL and pg-boss. The request processor's claim
// function (drizzle/0001, 0003) reads pg-boss's job table directly; if a pg-boss release
// renamed or retyped a column it reads, or the job state it compares with, claims would
// silently stop matching. This fails first.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLAIMED_JOB_COLUMNS, CLAIMED_JOB_STATES, PGBOSS_SCHEMA, QUEUES } from '../../../src/db/pgboss.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const json = (file: string) => JSON.parse(readFileSync(path.join(ROOT, file), 'utf8'));

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('pg-boss contract', () => {
  it('is pinned to one exact version, the one installed', () => {
    const pinned = json('package.json').dependencies['pg-boss'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(json('node_modules/pg-boss/package.json').version).toBe(pinned);
  });

  it('has every job-table column the claim reads, with the type it relies on', async () => {
    const { rows } = await t.pool.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'job'`,
      [PGBOSS_SCHEMA],
    );
    const columns = Object.fromEntries(rows.map((r) => [r.column_name, r.data_type]));
    for (const [name, type] of Object.entries(CLAIMED_JOB_COLUMNS)) expect({ name, type: columns[name] }).toEqual({ name, type });
  });

  it('has the job states the claim compares with', async () => {
    const { rows } = await t.pool.query<{ label: string }>(
      `SELECT e.enumlabel AS label FROM pg_enum e JOIN pg_type ty ON ty.oid = e.enumtypid
       JOIN pg_namespace n ON n.oid = ty.typnamespace WHERE n.nspname = $1 AND ty.typname = 'job_state'`,
      [PGBOSS_SCHEMA],
    );
    expect(rows.map((r) => r.label)).toEqual(expect.arrayContaining([...CLAIMED_JOB_STATES]));
  });

  it("runs the claim function against pg-boss's table as installed", async () => {
    // An unknown job claims nothing; the statement still has to plan against pgboss.job.
    const { rows } = await t.pool.query(
      `SELECT outcome FROM volley_claim_request_attempts(ARRAY[gen_random_uuid()], ARRAY[0], ARRAY[gen_random_uuid()],
         ARRAY[0], 8, ARRAY[]::text[], ARRAY[]::int[], 900, $1)`,
      [QUEUES.processRequest],
    );
    expect(rows).toEqual([{ outcome: 'missing' }]);
  });
});
