// previous_response_id resolved by volley from its own store (DESIGN 11), end to end with
// the unchanged openai SDK: the upstream (the development upstream, recording what it gets)
// receives every earlier turn's input and output, oldest first, and never the id, on a
// Responses model and on a chat-only model (through translation), realtime, background and
// flex; every id volley must not continue is the same 400.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevUpstreamCall } from '../../../src/dev-upstream/app.ts';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

const CHAT_MODEL = 'chat-engine';

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;
const calls: DevUpstreamCall[] = [];

beforeAll(async () => {
  gw = await startTestGateway({ upstream: { onRequest: (call) => void calls.push(call) } });
  await gw.addModel(CHAT_MODEL, { api: 'chat' });
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

/** The body the upstream got for the call whose input (or messages) mentions `marker`. */
function upstreamBodyFor(marker: string): Record<string, unknown> {
  const found = calls.filter((c) => c.method === 'POST' && JSON.stringify(c.body).includes(marker));
  expect(found.length, `upstream calls mentioning ${marker}`).toBeGreaterThan(0);
  return found.at(-1)!.body as Record<string, unknown>;
}

/** A Responses input item's role and text, whatever the content's shape. */
function said(item: unknown): string {
  const i = item as { role?: string; type?: string; content?: unknown };
  const content = i.content;
  const text =
    typeof content === 'string'
      ? content
      : Array.isArray(content)
        ? content.map((p: { text?: string }) => p.text ?? '').join('')
        : '';
  return `${i.role ?? i.type}: ${text}`;
}

describe('a three-turn chain', () => {
  it('on a responses model: the upstream gets turns 1 and 2, in order, and no previous_response_id', async () => {
    const t = Date.now();
    const first = await client.responses.create({ model: 'dev-model', input: `one ${t}`, instructions: 'be brief' });
    const second = await client.responses.create({ model: 'dev-model', input: `two ${t}`, previous_response_id: first.id });
    const third = await client.responses.create({ model: 'dev-model', input: `three ${t}`, previous_response_id: second.id });

    const body = upstreamBodyFor(`three ${t}`);
    expect(body).not.toHaveProperty('previous_response_id');
    // instructions are not carried over (DESIGN 11); this turn has none.
    expect(body).not.toHaveProperty('instructions');
    expect((body.input as unknown[]).map(said)).toEqual([
      `user: one ${t}`,
      `assistant: Echo: one ${t}`,
      `user: two ${t}`,
      `assistant: Echo: two ${t}`,
      `user: three ${t}`,
    ]);
    // The output items went upstream exactly as the client got them (ids included).
    expect((body.input as unknown[])[1]).toEqual(first.output[0]);
    expect((body.input as unknown[])[3]).toEqual(second.output[0]);
    expect(third.previous_response_id).toBe(second.id);
    expect(third.output_text).toBe(`Echo: three ${t}`);

    // The stored request is what the client sent, not the expansion.
    const { rows } = await gw.t.pool.query(`SELECT body, previous_request_id FROM requests WHERE id = $1`, [parseResponseId(third.id)]);
    expect(JSON.parse(rows[0].body)).toEqual({ model: 'dev-model', input: `three ${t}`, previous_response_id: second.id });
    expect(rows[0].previous_request_id).toBe(parseResponseId(second.id));
  });

  it('on a chat model: the upstream gets the conversation as chat messages', async () => {
    const t = Date.now();
    const first = await client.responses.create({ model: CHAT_MODEL, input: `uno ${t}`, instructions: 'be brief' });
    expect(first.output_text).toBe(`Echo: uno ${t}`);
    const second = await client.responses.create({ model: CHAT_MODEL, input: `dos ${t}`, previous_response_id: first.id });
    await client.responses.create({ model: CHAT_MODEL, input: `tres ${t}`, previous_response_id: second.id });

    const body = upstreamBodyFor(`tres ${t}`);
    expect(calls.at(-1)!.path).toBe('/v1/chat/completions');
    expect(body).not.toHaveProperty('previous_response_id');
    expect(body.messages).toEqual([
      { role: 'user', content: `uno ${t}` },
      { role: 'assistant', content: `Echo: uno ${t}` },
      { role: 'user', content: `dos ${t}` },
      { role: 'assistant', content: `Echo: dos ${t}` },
      { role: 'user', content: `tres ${t}` },
    ]);
  });

  it('streamed turns chain like the others', async () => {
    const t = Date.now();
    const stream = await client.responses.create({ model: CHAT_MODEL, input: `streamed ${t}`, stream: true });
    let firstId = '';
    for await (const event of stream) if (event.type === 'response.completed') firstId = event.response.id;
    const second = await client.responses.create({ model: 'dev-model', input: `after ${t}`, previous_response_id: firstId });
    expect(second.status).toBe('completed');
    expect(((upstreamBodyFor(`after ${t}`).input as unknown[]) ?? []).map(said)).toEqual([
      `user: streamed ${t}`,
      `assistant: Echo: streamed ${t}`,
      `user: after ${t}`,
    ]);
  });

  it('a second turn sent the instant the first answer arrives works (read-your-writes), 20 times', async () => {
    for (let i = 0; i < 20; i++) {
      const first = await client.responses.create({ model: 'dev-model', input: `quick ${i}` });
      const second = await client.responses.create({ model: 'dev-model', input: `next ${i}`, previous_response_id: first.id });
      expect(second.status).toBe('completed');
    }
  });

  it('background and flex requests continue a chain too', async () => {
    const t = Date.now();
    const first = await client.responses.create({ model: 'dev-model', input: `bg one ${t}` });
    const queued = await client.responses.create({
      model: CHAT_MODEL,
      input: `bg two ${t}`,
      previous_response_id: first.id,
      background: true,
    });
    expect(queued.status).toBe('queued');
    expect(queued.previous_response_id).toBe(first.id);
    const done = await waitFor(async () => {
      const r = await client.responses.retrieve(queued.id);
      return r.status === 'completed' ? r : undefined;
    });
    expect(done.output_text).toBe(`Echo: bg two ${t}`);
    expect((upstreamBodyFor(`bg two ${t}`).messages as unknown[]).length).toBe(3);

    const flex = await client.responses.create({
      model: 'dev-model',
      input: `flex three ${t}`,
      previous_response_id: done.id,
      service_tier: 'flex',
    });
    expect(flex.status).toBe('completed');
    const body = upstreamBodyFor(`flex three ${t}`);
    expect(body).not.toHaveProperty('previous_response_id');
    expect((body.input as unknown[]).map(said)).toEqual([
      `user: bg one ${t}`,
      `assistant: Echo: bg one ${t}`,
      `user: bg two ${t}`,
      `assistant: Echo: bg two ${t}`,
      `user: flex three ${t}`,
    ]);
  });
});

describe('previous_response_id that cannot be continued', () => {
  async function refusal(previous: string, extra: Record<string, unknown> = {}) {
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dev-model', input: 'continue', previous_response_id: previous, ...extra }),
    });
    return { status: res.status, body: (await res.json()) as { error: Record<string, unknown> } };
  }

  const expected = (id: string) => ({
    status: 400,
    body: {
      error: {
        message: `Previous response with id '${id}' not found.`,
        type: 'invalid_request_error',
        param: 'previous_response_id',
        code: 'previous_response_not_found',
      },
    },
  });

  it('unknown and someone else\'s answer the identical 400 (existence is not revealed)', async () => {
    const other = await gw.createKey();
    const theirs = await gw.client(other.key).responses.create({ model: 'dev-model', input: 'mine' });
    const unknown = 'resp_' + '0'.repeat(32);
    const a = await refusal(theirs.id);
    const b = await refusal(unknown);
    expect(a).toEqual(expected(theirs.id));
    expect(b).toEqual(expected(unknown));
    // Identical but for the id itself.
    expect(JSON.stringify(a).replace(theirs.id, 'X')).toBe(JSON.stringify(b).replace(unknown, 'X'));
  });

  it('a deleted, a store: false, a failed and an unfinished response, and an id that is not one', async () => {
    const deleted = await client.responses.create({ model: 'dev-model', input: 'to delete' });
    await client.responses.delete(deleted.id);
    const unstored = await client.responses.create({ model: 'dev-model', input: 'not kept', store: false });
    const failed = await client.responses.create({ model: 'dev-status-500', input: 'fails' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    const failedId = (failed as InstanceType<typeof OpenAI.APIError>).headers?.get('x-volley-response-id');
    expect(failedId).toMatch(/^resp_/);
    const unfinished = await client.responses.create({ model: 'dev-slow-3000', input: 'slow', background: true });

    for (const id of [deleted.id, unstored.id, failedId!, unfinished.id, 'resp_not-an-id', 'x'.repeat(300)]) {
      const r = await refusal(id);
      expect(r, id).toEqual(expected(id.slice(0, 100)));
    }
    // Background and flex requests are refused the same way, before anything is queued.
    expect(await refusal(deleted.id, { background: true })).toEqual(expected(deleted.id));
    expect(await refusal(deleted.id, { service_tier: 'flex' })).toEqual(expected(deleted.id));
    // A chain through a turn that is no longer usable is refused too.
    const a = await client.responses.create({ model: 'dev-model', input: 'a' });
    const b = await client.responses.create({ model: 'dev-model', input: 'b', previous_response_id: a.id });
    await client.responses.delete(a.id);
    expect(await refusal(b.id)).toEqual(expected(b.id));
  });
});
