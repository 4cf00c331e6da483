// /admin/api-keys list, PATCH and DELETE (DESIGN 12): a revoked key is refused by another
// gateway process within 5 s (the revocation is announced; the cache TTL is the backstop).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

let gw: TestGateway;
let other: { url: string };

beforeAll(async () => {
  gw = await startTestGateway();
  other = await gw.startWebProcess();
}, 90_000);
afterAll(async () => {
  await gw?.close();
});

const admin = (method: string, path: string, body?: unknown) =>
  fetch(`${gw.url}/admin${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const chat = (url: string, key: string, model = 'dev-model') =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('/admin/api-keys', () => {
  it('lists keys without secrets, with user, models, created and last used', async () => {
    const created = (await (await admin('POST', '/api-keys', { user: 'carol', name: 'laptop', models: ['dev-model'] })).json()) as { id: string; key: string };
    expect((await chat(gw.url, created.key)).status).toBe(200);
    const list = (await (await admin('GET', '/api-keys')).json()) as { object: string; data: Record<string, unknown>[] };
    expect(list.object).toBe('list');
    const mine = list.data.find((k) => k.id === created.id);
    expect(mine).toMatchObject({
      object: 'api_key',
      name: 'laptop',
      user: 'carol',
      models: ['dev-model'],
      created_at: expect.any(String),
      revoked_at: null,
      prefix: created.key.slice(0, String(mine!.prefix).length),
    });
    await waitFor(async () => {
      const again = (await (await admin('GET', '/api-keys')).json()) as { data: Record<string, unknown>[] };
      return again.data.find((k) => k.id === created.id)?.last_used_at ?? undefined;
    }, { what: 'last_used_at to be set' });
    expect(JSON.stringify(list)).not.toContain(created.key);
  });

  it('PATCH changes the models a key may call, on every process', async () => {
    const created = (await (await admin('POST', '/api-keys', { user: 'dave' })).json()) as { id: string; key: string };
    expect((await chat(other.url, created.key, 'other-model')).status).toBe(200);
    const patched = await admin('PATCH', `/api-keys/${created.id}`, { models: ['dev-model'] });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id: created.id, models: ['dev-model'] });
    await waitFor(async () => ((await chat(other.url, created.key, 'other-model')).status === 403 ? true : undefined), {
      timeoutMs: 5_000,
      what: 'the other process to apply the new models',
    });
    expect((await chat(other.url, created.key, 'dev-model')).status).toBe(200);
    expect((await admin('PATCH', `/api-keys/${created.id}`, { models: 'all' })).status).toBe(400);
    expect((await admin('PATCH', '/api-keys/00000000-0000-0000-0000-000000000000', { models: null })).status).toBe(404);
  });

  it('DELETE revokes: the other gateway process refuses the key within 5 s; idempotent', async () => {
    const created = (await (await admin('POST', '/api-keys', { user: 'erin' })).json()) as { id: string; key: string };
    // Both processes have the key cached as valid.
    expect((await chat(gw.url, created.key)).status).toBe(200);
    expect((await chat(other.url, created.key)).status).toBe(200);
    const revoked = await admin('DELETE', `/api-keys/${created.id}`);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ id: created.id, object: 'api_key', deleted: true });
    expect((await chat(gw.url, created.key)).status).toBe(401);
    await waitFor(async () => ((await chat(other.url, created.key)).status === 401 ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'the other process to refuse the revoked key',
    });
    expect((await admin('DELETE', `/api-keys/${created.id}`)).status).toBe(200);
    const list = (await (await admin('GET', '/api-keys')).json()) as { data: Record<string, unknown>[] };
    expect(list.data.find((k) => k.id === created.id)?.revoked_at).toEqual(expect.any(String));
    expect((await admin('DELETE', '/api-keys/not-a-uuid')).status).toBe(404);
  });
});
