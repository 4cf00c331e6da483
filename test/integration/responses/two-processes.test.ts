// What must hold across gateway processes (DESIGN 10, 11): a realtime answer the client holds
// is `completed` on GET from another process at once, and a models change made through one
// process reaches the other's catalog within seconds.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevUpstreamCall } from '../../../src/dev-upstream/app.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

let gw: TestGateway;
let key: TestKey;
let other: { url: string };
const calls: DevUpstreamCall[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ upstream: { onRequest: (call) => void calls.push(call) } });
  key = await gw.createKey();
  other = await gw.startWebProcess();
}, 90_000);
afterAll(async () => {
  await gw?.close();
});

const sdk = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: key.key, maxRetries: 0 });

describe('read-your-writes across two gateway processes', () => {
  it('create on one, GET on the other at once: completed, 200 of 200', async () => {
    const processes = [sdk(gw.url), sdk(other.url)];
    const statuses: string[] = [];
    for (let i = 0; i < 200; i++) {
      const [creator, reader] = i % 2 === 0 ? processes : [processes[1]!, processes[0]!];
      let id: string;
      let text: string;
      if (i % 4 < 2) {
        const created = await creator!.responses.create({ model: 'dev-model', input: `ryw ${i}` });
        id = created.id;
        text = created.output_text;
      } else {
        // Streamed: the client holds the answer once response.completed arrived.
        const stream = await creator!.responses.create({ model: 'dev-model', input: `ryw ${i}`, stream: true });
        let done: OpenAI.Responses.Response | undefined;
        for await (const event of stream) if (event.type === 'response.completed') done = event.response;
        id = done!.id;
        text = done!.output.flatMap((o) => (o.type === 'message' ? o.content.map((c) => (c.type === 'output_text' ? c.text : '')) : [])).join('');
      }
      const got = await reader!.responses.retrieve(id);
      statuses.push(got.status ?? 'none');
      expect(got.output_text, `try ${i}`).toBe(text);
    }
    expect(statuses.filter((s) => s === 'completed')).toHaveLength(200);
  }, 120_000);
});

describe('models across processes', () => {
  const admin = (url: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}/admin/models${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  /** The upstream path the other process used for one call of `model`. */
  async function pathUsedByOther(model: string): Promise<string | undefined> {
    const marker = `probe ${Math.random()}`;
    await sdk(other.url).responses.create({ model, input: marker });
    return calls.find((c) => JSON.stringify(c.body).includes(marker))?.path;
  }

  it('an added, changed and deleted model is seen by the other process within seconds', async () => {
    const name = `switching-${Date.now()}`;
    expect(await pathUsedByOther(name)).toBe('/v1/responses'); // not in the table: UPSTREAM_URL, Responses

    expect((await admin(gw.url, 'POST', '', { name, upstream_url: gw.upstream.url, api: 'chat' })).status).toBe(201);
    await waitFor(async () => ((await pathUsedByOther(name)) === '/v1/chat/completions' ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'the other process to route the new chat model',
    });

    expect((await admin(gw.url, 'PATCH', `/${name}`, { api: 'responses' })).status).toBe(200);
    await waitFor(async () => ((await pathUsedByOther(name)) === '/v1/responses' ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'the other process to see the change',
    });

    expect((await admin(gw.url, 'PATCH', `/${name}`, { api: 'chat' })).status).toBe(200);
    await waitFor(async () => ((await pathUsedByOther(name)) === '/v1/chat/completions' ? true : undefined), { timeoutMs: 5_000, intervalMs: 50 });
    expect((await admin(other.url, 'DELETE', `/${name}`)).status).toBe(200);
    await waitFor(async () => ((await pathUsedByOther(name)) === '/v1/responses' ? true : undefined), {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: 'the other process to drop the deleted model',
    });
    const listed = (await (await admin(other.url, 'GET', '')).json()) as { data: { name: string }[] };
    expect(listed.data.map((m) => m.name)).not.toContain(name);
  });
});
