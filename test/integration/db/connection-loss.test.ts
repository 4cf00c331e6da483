// The database going away is an outage, not a crash (DESIGN 13): a pooled client that loses
// its connection while checked out (a transaction between two statements) must not raise an
// unhandled 'error' event, which would end the process.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../../src/db/client.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';

let t: TestDatabase;
let database: Database;
beforeAll(async () => {
  t = await createTestDatabase();
  database = openDatabase(t.url, { max: 2 });
});
afterAll(async () => {
  await database?.close();
  await t?.drop();
});

describe('a connection lost while checked out', () => {
  it('fails that transaction only; the pool and the process go on', async () => {
    const client = await database.pool.connect();
    await client.query('BEGIN');
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
    // Killed from outside while idle in its transaction, as a server restart would.
    await t.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    await ended;
    await expect(client.query('SELECT 1')).rejects.toThrow();
    client.release(true);
    const after = await database.pool.query<{ ok: number }>('SELECT 1 AS ok');
    expect(after.rows[0]!.ok).toBe(1);
  });

  it('fails a drizzle transaction whose connection dies mid-statement with a rejection, not a crash', async () => {
    const result = database.db.transaction(async (tx) => {
      await tx.execute('SELECT 1');
      await tx.execute('SELECT pg_terminate_backend(pg_backend_pid())');
    });
    await expect(result).rejects.toThrow();
    expect((await database.pool.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]!.ok).toBe(1);
  });
});
