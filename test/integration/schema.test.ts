import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

const batch = `INSERT INTO batches (id, created_by, endpoint, completion_window) VALUES ($1, $2, '/v1/responses', '0s')`;
const ids = () => [crypto.randomUUID(), crypto.randomUUID()] as const;

describe('requests table constraints', () => {
  it('rejects a state outside the state set', async () => {
    const [id, owner] = ids();
    await t.pool.query(batch, [id, owner]);
    await expect(
      t.pool.query(
        `INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by) VALUES ($1, $1, 'done', '/v1/responses', 'm', '{}', $2)`,
        [id, owner],
      ),
    ).rejects.toMatchObject({ constraint: 'requests_state_valid' });
  });

  it.each([
    ['completed', 'requests_completed_fields'],
    ['failed', 'requests_failed_fields'],
    ['canceled', 'requests_canceled_fields'],
  ])('rejects a %s row without the fields that state requires', async (state, constraint) => {
    const [id, owner] = ids();
    await t.pool.query(batch, [id, owner]);
    await expect(
      t.pool.query(
        `INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by) VALUES ($1, $1, $3, '/v1/responses', 'm', '{}', $2)`,
        [id, owner, state],
      ),
    ).rejects.toMatchObject({ constraint });
  });

  it('is an isolated database cloned from the migrated template', async () => {
    const { rows } = await t.pool.query(`SELECT current_database() AS name, to_regclass('pgboss.job') AS job`);
    expect(rows[0].name).toBe(t.name);
    expect(rows[0].job).not.toBeNull();
  });
});
