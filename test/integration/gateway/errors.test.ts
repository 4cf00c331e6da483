// Every error the gateway answers is an OpenAI error envelope with the right status, and the
// official SDK turns each into its matching error class.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';

let gw: TestGateway;
let key: TestKey;

beforeAll(async () => {
  gw = await startTestGateway({ env: { MAX_BODY_BYTES: String(16 * 1024) } });
  key = await gw.createKey({ models: ['dev-model'] });
});
afterAll(async () => {
  await gw?.close();
});

async function call(path: string, init: { method?: string; key?: string | null; body?: string; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  const k = init.key === undefined ? key.key : init.key;
  if (k !== null) headers.authorization = `Bearer ${k}`;
  const res = await fetch(`${gw.url}${path}`, { method: init.method ?? 'POST', headers, ...(init.body !== undefined ? { body: init.body } : {}) });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as { error: Record<string, unknown> }, headers: res.headers };
}

function expectEnvelope(body: { error: Record<string, unknown> }, fields: Record<string, unknown>) {
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof body.error.message).toBe('string');
  expect(body.error).toMatchObject(fields);
}

const chat = JSON.stringify({ model: 'dev-model', messages: [{ role: 'user', content: 'hi' }] });

describe('authentication', () => {
  it('401 without a key', async () => {
    const r = await call('/v1/chat/completions', { key: null, body: chat });
    expect(r.status).toBe(401);
    expectEnvelope(r.body, { type: 'authentication_error', code: 'missing_api_key' });
    expect(r.headers.get('x-volley-response-id')).toBeNull();
  });

  it('401 with an unknown key, which the SDK reports as AuthenticationError', async () => {
    const r = await call('/v1/chat/completions', { key: 'vk-not-a-real-key', body: chat });
    expect(r.status).toBe(401);
    expectEnvelope(r.body, { type: 'authentication_error', code: 'invalid_api_key' });
    await expect(
      gw.client('vk-not-a-real-key').chat.completions.create({ model: 'dev-model', messages: [] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it('401 for a revoked key', async () => {
    const k = await gw.createKey();
    await gw.t.pool.query(`UPDATE api_keys SET is_deleted = true WHERE id = $1`, [k.id]);
    const r = await call('/v1/chat/completions', { key: k.key, body: chat });
    expect(r.status).toBe(401);
  });

  it('403 for a model the key may not use', async () => {
    const r = await call('/v1/chat/completions', { body: JSON.stringify({ model: 'other-model', messages: [] }) });
    expect(r.status).toBe(403);
    expectEnvelope(r.body, { type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    await expect(
      gw.client(key.key).responses.create({ model: 'other-model', input: 'x' }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
  });

  it('never stores the key: not in rows, not in job payloads', async () => {
    const { response } = await gw
      .client(key.key)
      .chat.completions.create({ model: 'dev-model', messages: [{ role: 'user', content: 'secret?' }] })
      .withResponse();
    // Scan once every job of the call exists: the row is terminal only after complete-response
    // (enqueued after the reply) has run, so its job is in the table by then.
    const id = parseResponseId(response.headers.get('x-volley-response-id')!);
    await gw.terminalRow(id);
    const { rows: jobs } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM pgboss.job WHERE data::text LIKE '%' || $1 || '%'`, [id]);
    expect(jobs[0].n).toBeGreaterThan(0);
    const { rows } = await gw.t.pool.query(
      `SELECT (SELECT count(*) FROM pgboss.job WHERE data::text LIKE '%' || $1 || '%')::int AS jobs,
              (SELECT count(*) FROM requests WHERE body LIKE '%' || $1 || '%' OR response_body LIKE '%' || $1 || '%')::int AS rows,
              (SELECT count(*) FROM api_keys WHERE secret_hash = $1 OR prefix = $1)::int AS keys`,
      [key.key],
    );
    expect(rows[0]).toEqual({ jobs: 0, rows: 0, keys: 0 });
  });
});

describe('bad requests', () => {
  it('400 for malformed JSON', async () => {
    const r = await call('/v1/chat/completions', { body: '{"model": "dev-model",' });
    expect(r.status).toBe(400);
    expectEnvelope(r.body, { type: 'invalid_request_error', code: 'invalid_json' });
  });

  it('400 for an empty body and for a body that is not an object', async () => {
    expect((await call('/v1/responses', { body: '' })).status).toBe(400);
    const r = await call('/v1/responses', { body: '[1,2]' });
    expect(r.status).toBe(400);
    expectEnvelope(r.body, { type: 'invalid_request_error' });
  });

  it.each([
    ['missing model', { input: 'x' }, 'model'],
    ['ill-typed model', { model: 42, input: 'x' }, 'model'],
    ['ill-typed stream', { model: 'dev-model', input: 'x', stream: 'yes' }, 'stream'],
    ['ill-typed background', { model: 'dev-model', input: 'x', background: 1 }, 'background'],
    ['unknown service tier', { model: 'dev-model', input: 'x', service_tier: 'turbo' }, 'service_tier'],
    ['streamed background', { model: 'dev-model', input: 'x', background: true, stream: true }, 'stream'],
  ])('400 for %s, naming the field', async (_name, body, param) => {
    const r = await call('/v1/responses', { body: JSON.stringify(body) });
    expect(r.status).toBe(400);
    expectEnvelope(r.body, { type: 'invalid_request_error', param });
  });

  it('the SDK reports a 400 as BadRequestError', async () => {
    await expect(
      gw.client(key.key).chat.completions.create({ model: 7 as unknown as string, messages: [] }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
  });

  it('413 for a body over MAX_BODY_BYTES', async () => {
    const big = JSON.stringify({ model: 'dev-model', input: 'x'.repeat(20 * 1024) });
    const r = await call('/v1/responses', { body: big });
    expect(r.status).toBe(413);
    expectEnvelope(r.body, { type: 'invalid_request_error', code: 'request_too_large' });
  });

  it('404 for an unknown route', async () => {
    const r = await call('/v1/nothing-here', { body: chat });
    expect(r.status).toBe(404);
    expectEnvelope(r.body, { type: 'not_found_error', code: 'unknown_url' });
    expect((await call('/', { method: 'GET' })).status).toBe(404);
  });
});

describe('response ids', () => {
  let mine: string;
  beforeAll(async () => {
    const created = await gw.client(key.key).responses.create({ model: 'dev-model', input: 'mine' });
    mine = created.id;
  });

  it.each([
    ['malformed', 'resp_not-a-uuid'],
    ['unknown', 'resp_0191f3a4-6b2c-7d3e-8f40-123456789abc'],
  ])('404 for a %s id on GET, cancel and DELETE', async (_name, id) => {
    for (const [method, path] of [
      ['GET', `/v1/responses/${id}`],
      ['POST', `/v1/responses/${id}/cancel`],
      ['DELETE', `/v1/responses/${id}`],
    ] as const) {
      const r = await call(path, { method });
      expect(r.status, `${method} ${path}`).toBe(404);
      expectEnvelope(r.body, { type: 'not_found_error', code: 'response_not_found' });
    }
  });

  it("404 (not 403) for someone else's response", async () => {
    const other = await gw.createKey();
    const r = await call(`/v1/responses/${mine}`, { method: 'GET', key: other.key });
    expect(r.status).toBe(404);
    expectEnvelope(r.body, { type: 'not_found_error' });
    await expect(gw.client(other.key).responses.retrieve(mine)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await call(`/v1/responses/${mine}`, { method: 'DELETE', key: other.key })).status).toBe(404);
    // Another key of the same user sees it.
    const sameUser = await gw.createKey({ user: (await gw.t.pool.query(`SELECT name FROM users WHERE id = $1`, [key.userId])).rows[0].name });
    expect((await call(`/v1/responses/${mine}`, { method: 'GET', key: sameUser.key })).status).toBe(200);
  });

  it('401 before 404 when the key is missing', async () => {
    expect((await call(`/v1/responses/${mine}`, { method: 'GET', key: null })).status).toBe(401);
  });

  it('deletes: then GET, DELETE and cancel answer 404', async () => {
    const created = await gw.client(key.key).responses.create({ model: 'dev-model', input: 'delete me' });
    const deleted = await call(`/v1/responses/${created.id}`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(deleted.body).toEqual({ id: created.id, object: 'response', deleted: true });
    await expect(gw.client(key.key).responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect((await call(`/v1/responses/${created.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await call(`/v1/responses/${created.id}/cancel`)).status).toBe(404);
    // Soft: the row is still there for analytics.
    const { rows } = await gw.t.pool.query(`SELECT deleted_at FROM requests WHERE id = $1`, [created.id.slice(5)]);
    expect(rows[0].deleted_at).toBeInstanceOf(Date);
  });

  it('the SDK deletes with responses.delete', async () => {
    const created = await gw.client(key.key).responses.create({ model: 'dev-model', input: 'sdk delete' });
    await gw.client(key.key).responses.delete(created.id);
    await expect(gw.client(key.key).responses.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('400 when cancelling a response that was not created in the background', async () => {
    const r = await call(`/v1/responses/${mine}/cancel`);
    expect(r.status).toBe(400);
    expectEnvelope(r.body, { type: 'invalid_request_error' });
  });
});

describe('admin API', () => {
  const admin = (token: string | null, body: unknown) =>
    call('/admin/api-keys', { key: token, body: JSON.stringify(body) });

  it('401 without the admin token or with a wrong one', async () => {
    expectEnvelope((await admin(null, { user: 'x' })).body, { type: 'authentication_error' });
    expect((await admin('wrong-token-wrong-token', { user: 'x' })).status).toBe(401);
    expect((await admin(key.key, { user: 'x' })).status).toBe(401);
  });

  it('400 for a body without a user', async () => {
    const r = await admin(ADMIN_TOKEN, { name: 'n' });
    expect(r.status).toBe(400);
    expectEnvelope(r.body, { type: 'invalid_request_error', param: 'user' });
  });

  it('creates a key that works at once, for a new or existing user, with a model allow-list', async () => {
    const r = await admin(ADMIN_TOKEN, { user: 'alice', name: 'laptop', models: ['dev-model'] });
    expect(r.status).toBe(200);
    const created = r.body as unknown as { id: string; key: string; user_id: string };
    expect(created.key).toMatch(/^vk-[0-9A-Za-z]{40}$/);
    const again = (await admin(ADMIN_TOKEN, { user: 'alice' })).body as unknown as { user_id: string; key: string };
    expect(again.user_id).toBe(created.user_id);
    expect(again.key).not.toBe(created.key);
    const c = gw.client(created.key);
    const answer = await c.chat.completions.create({ model: 'dev-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]?.message.content).toBe('Echo: hi');
    await expect(c.chat.completions.create({ model: 'gpt-x', messages: [] })).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    const { rows } = await gw.t.pool.query(`SELECT secret_hash, prefix FROM api_keys WHERE id = $1`, [created.id]);
    expect(rows[0].secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0].prefix).toBe(created.key.slice(0, 8));
  });
});
