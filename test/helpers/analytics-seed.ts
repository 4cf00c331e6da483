// Seeded traffic for the analytics tests (request log, usage, dashboard): real requests
// through the gateway with the official SDK (two users, three keys, chat and Responses,
// streamed, failed, background, flex, metadata in the body and the header), each one waited
// for until its row is terminal. The seed returns what it sent, so tests can compute the
// expected answers by hand.
import OpenAI from 'openai';
import { parseResponseId } from '../../src/responses/response-id.ts';
import type { TestGateway, TestKey } from './app.ts';

export interface SeededRequest {
  id: string;
  label: string;
  user: 'alice' | 'bob';
  key: 'a1' | 'a2' | 'b1';
  model: string;
  endpoint: '/v1/chat/completions' | '/v1/responses';
  serviceTier: 'default' | 'flex';
  status: 'completed' | 'failed';
  httpStatus: number;
  streamed: boolean;
  background: boolean;
  metadata: Record<string, string> | null;
  endUser: string | null;
}

export interface Seed {
  users: { alice: string; bob: string };
  keys: { a1: TestKey; a2: TestKey; b1: TestKey };
  requests: SeededRequest[];
  /** A word that appears in exactly one request's prompt. */
  uniqueWord: string;
}

/** The response id a failed SDK call still carries (x-volley-response-id). */
function idOfError(err: unknown): string {
  const id = (err as InstanceType<typeof OpenAI.APIError>).headers?.get('x-volley-response-id');
  if (!id) throw err;
  return id;
}

export async function seedTraffic(gw: TestGateway, tag = `${Date.now()}`): Promise<Seed> {
  const alice = `alice-${tag}`;
  const bob = `bob-${tag}`;
  const a1 = await gw.createKey({ user: alice });
  const a2 = await gw.createKey({ user: alice });
  const b1 = await gw.createKey({ user: bob });
  const sdk = (k: TestKey, headers?: Record<string, string>) =>
    new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: k.key, maxRetries: 0, ...(headers ? { defaultHeaders: headers } : {}) });
  const uniqueWord = `zebra${tag.replace(/\D/g, '')}`;
  const requests: SeededRequest[] = [];
  const add = (r: Omit<SeededRequest, 'id'>, id: string) => requests.push({ ...r, id: parseResponseId(id) });
  const base = { serviceTier: 'default', status: 'completed', httpStatus: 200, streamed: false, background: false, metadata: null, endUser: null } as const;

  // 1. alice/a1: a chat completion with header metadata.
  const c1 = await sdk(a1, { 'x-volley-metadata': JSON.stringify({ team: 'red' }) })
    .chat.completions.create({ model: 'dev-model', messages: [{ role: 'user', content: `hello ${uniqueWord}` }] })
    .withResponse();
  add({ ...base, label: 'chat', user: 'alice', key: 'a1', model: 'dev-model', endpoint: '/v1/chat/completions', metadata: { team: 'red' } }, c1.response.headers.get('x-volley-response-id')!);

  // 2. alice/a1: a streamed chat completion (TTFT).
  const s = await sdk(a1).chat.completions.create({
    model: 'dev-model',
    messages: [{ role: 'user', content: 'stream this please' }],
    stream: true,
    stream_options: { include_usage: true },
  }).withResponse();
  for await (const _ of s.data) void _;
  add({ ...base, label: 'chat-stream', user: 'alice', key: 'a1', model: 'dev-model', endpoint: '/v1/chat/completions', streamed: true }, s.response.headers.get('x-volley-response-id')!);

  // 3. alice/a2: Responses with body metadata and an end user.
  const r3 = await sdk(a2).responses.create({ model: 'dev-model', input: 'responses turn', metadata: { team: 'blue', env: 'prod' }, user: 'end-user-7' });
  add({ ...base, label: 'responses', user: 'alice', key: 'a2', model: 'dev-model', endpoint: '/v1/responses', metadata: { team: 'blue', env: 'prod' }, endUser: 'end-user-7' }, r3.id);

  // 4. alice/a1: slow (for min_duration_ms).
  const r4 = await sdk(a1).responses.create({ model: 'dev-slow-300', input: 'slowly' });
  add({ ...base, label: 'slow', user: 'alice', key: 'a1', model: 'dev-slow-300', endpoint: '/v1/responses' }, r4.id);

  // 5. bob/b1: the upstream fails it (500).
  const failed = await sdk(b1).responses.create({ model: 'dev-status-500', input: 'this fails' }).catch((e: unknown) => e);
  add({ ...base, label: 'failed-500', user: 'bob', key: 'b1', model: 'dev-status-500', endpoint: '/v1/responses', status: 'failed', httpStatus: 500 }, idOfError(failed));

  // 6. bob/b1: 429 (a realtime request is not retried).
  const limited = await sdk(b1).chat.completions.create({ model: 'dev-status-429', messages: [{ role: 'user', content: 'limited' }] }).catch((e: unknown) => e);
  add({ ...base, label: 'failed-429', user: 'bob', key: 'b1', model: 'dev-status-429', endpoint: '/v1/chat/completions', status: 'failed', httpStatus: 429 }, idOfError(limited));

  // 7. bob/b1: background (queue delay).
  const bg = await sdk(b1).responses.create({ model: 'dev-model', input: 'in the background', background: true });
  add({ ...base, label: 'background', user: 'bob', key: 'b1', model: 'dev-model', endpoint: '/v1/responses', background: true }, bg.id);

  // 8. bob/b1: flex, blocking.
  const flex = await sdk(b1).responses.create({ model: 'dev-model', input: 'flexible', service_tier: 'flex' });
  add({ ...base, label: 'flex', user: 'bob', key: 'b1', model: 'dev-model', endpoint: '/v1/responses', serviceTier: 'flex' }, flex.id);

  for (const r of requests) await gw.terminalRow(r.id);
  return { users: { alice, bob }, keys: { a1, a2, b1 }, requests, uniqueWord };
}
