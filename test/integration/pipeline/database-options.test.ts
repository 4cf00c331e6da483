import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src/db/client.ts';
import { InlineCreateResponse } from '../../../src/gateway/recording.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { realtimeRequest } from '../../helpers/factories.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t.drop();
});

describe('openDatabase({ synchronousCommit: false })', () => {
  it("turns off synchronous_commit on that pool's connections only", async () => {
    const fast = openDatabase(t.url, { max: 2, synchronousCommit: false });
    try {
      expect((await fast.pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('off');
      expect((await t.pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
      // The create-response row written through it is committed (visible to other sessions).
      const inline = new InlineCreateResponse(fast.db);
      const r = realtimeRequest();
      await inline.record(r.create);
      const { rows } = await t.pool.query(`SELECT state, body FROM requests WHERE id = $1`, [r.create.requestId]);
      expect(rows).toEqual([{ state: 'processing', body: r.create.body }]);
      await inline.close();
    } finally {
      await fast.close();
    }
  });
});
