// Durability across a crash: a background request the gateway answered 202 survives the
// process being killed with SIGKILL, and completes once volley runs again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../src/db/embedded.ts';
import { startDevUpstream, type DevUpstream } from '../../../src/dev-upstream/server.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { insertApiKey } from '../../../src/store/api-keys.ts';
import { findOrCreateUser } from '../../../src/store/users.ts';
import { spawnRole, type Child } from '../../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.ts';
import { waitFor } from '../../helpers/wait.ts';

const ADMIN_TOKEN = 'test-admin-token-0123456789';

let t: TestDatabase;
let upstream: DevUpstream;
let key: string;
const children: Child[] = [];

beforeAll(async () => {
  t = await createTestDatabase();
  upstream = await startDevUpstream();
  const user = await findOrCreateUser(t.db, 'restart-test');
  key = (await insertApiKey(t.db, { userId: user.id })).key;
});
afterAll(async () => {
  for (const c of children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  await upstream?.close();
  await t?.drop();
});

async function start(entry: string, port: number): Promise<Child> {
  const child = spawnRole(entry, {
    DATABASE_URL: t.url,
    ADMIN_TOKEN,
    UPSTREAM_URL: upstream.url,
    PORT: String(port),
    LOG_LEVEL: 'info',
    SHUTDOWN_TIMEOUT_MS: '2000',
  });
  children.push(child);
  await child.waitForOutput(entry.endsWith('web.ts') ? 'web role ready' : 'volley is running at', 60_000);
  return child;
}

async function createBackground(port: number, model: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, input: 'survive the crash', background: true }),
  });
  expect(res.status).toBe(202);
  return parseResponseId(((await res.json()) as { id: string }).id);
}

async function stateOf(id: string): Promise<string | undefined> {
  const { rows } = await t.pool.query(`SELECT state FROM requests WHERE id = $1`, [id]);
  return rows[0]?.state;
}

describe('graceful shutdown (SIGTERM)', () => {
  it('finishes a stream in flight and stores its completion before exiting', async () => {
    const port = await freePort();
    const all = await start('workers/all-in-one.ts', port);
    const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dev-chunk-200', messages: [{ role: 'user', content: 'a b c d e f' }], stream: true }),
    });
    const id = parseResponseId(res.headers.get('x-volley-response-id')!);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value);
    all.process.kill('SIGTERM');
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value);
    expect(text).toContain('data: [DONE]');
    expect((await all.exited).code, all.output()).toBe(0);
    // Its complete-response job was stored (a worker may have run it already).
    const { rows } = await t.pool.query(
      `SELECT (SELECT state FROM requests WHERE id = $1) AS row_state,
              (SELECT count(*)::int FROM pgboss.job WHERE name = 'complete-response' AND data->>'requestId' = $1::text) AS jobs`,
      [id],
    );
    expect(rows[0].row_state === 'completed' || rows[0].jobs === 1).toBe(true);
  });
});

describe('a background request accepted just before a SIGKILL', () => {
  it('completes after a restart (web role killed right after answering 202)', async () => {
    const port = await freePort();
    const web = await start('workers/web.ts', port);
    const id = await createBackground(port, 'dev-model');
    web.process.kill('SIGKILL');
    await web.exited;
    expect(await stateOf(id)).toBe('pending');

    const all = await start('workers/all-in-one.ts', port);
    await waitFor(async () => ((await stateOf(id)) === 'completed' ? true : undefined), { timeoutMs: 30_000, what: 'completion' });
    all.process.kill('SIGTERM');
    expect((await all.exited).code).toBe(0);
  });

  it('completes after a restart (whole process killed while the upstream call was in flight)', async () => {
    const port = await freePort();
    const first = await start('workers/all-in-one.ts', port);
    const id = await createBackground(port, 'dev-slow-1500');
    await waitFor(async () => ((await stateOf(id)) === 'processing' ? true : undefined), { what: 'the call to start' });
    first.process.kill('SIGKILL');
    await first.exited;
    expect(await stateOf(id)).toBe('processing');

    // pg-boss hands the dead process's job back once its heartbeat goes stale (about 10 s
    // heartbeat, 10 s supervision), and the new process runs the request again.
    const second = await start('workers/all-in-one.ts', port);
    await waitFor(async () => ((await stateOf(id)) === 'completed' ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 250,
      what: 'completion after the restart',
    });
    const { rows } = await t.pool.query(`SELECT response_status, retry_attempt FROM requests WHERE id = $1`, [id]);
    expect(rows[0].response_status).toBe(200);
    second.process.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
  }, 120_000);
});
