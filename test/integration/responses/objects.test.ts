// Every response object volley returns is a complete Open Responses ResponseResource
// (DESIGN 11): the POST answer (realtime, streamed snapshots, the queued background object,
// the blocking flex answer), GET and cancel, from a Responses upstream and from a chat-only
// one, completed, incomplete and failed; GET of a finished response is what POST returned.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { expectResponseResource } from '../../helpers/open-responses-schema.ts';
import { waitFor } from '../../helpers/wait.ts';

const CHAT_MODEL = 'chat-engine';
const MODELS = ['dev-model', CHAT_MODEL] as const;

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;

beforeAll(async () => {
  gw = await startTestGateway();
  // The development upstream reads its controls from the model name (slow, failing).
  for (const name of [CHAT_MODEL, `${CHAT_MODEL}-dev-slow-5000`, `${CHAT_MODEL}-dev-status-500`]) await gw.addModel(name, { api: 'chat' });
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

const tools: OpenAI.Responses.Tool[] = [
  {
    type: 'function',
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    strict: false,
  },
];

/** Raw JSON of GET, so nothing the SDK adds (output_text) hides a difference. */
async function getRaw(id: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${gw.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${key.key}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

async function postRaw(body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${gw.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe.each(MODELS)('objects of %s', (model) => {
  it('realtime: POST is complete, and GET returns exactly what POST returned', async () => {
    const { status, json: posted } = await postRaw({
      model,
      input: 'hello there',
      instructions: 'be brief',
      temperature: 0.5,
      top_p: 0.9,
      metadata: { team: 'a' },
      tools,
    });
    expect(status).toBe(200);
    expectResponseResource(posted);
    expect(posted).toMatchObject({ status: 'completed', model, instructions: 'be brief', temperature: 0.5, top_p: 0.9, metadata: { team: 'a' } });
    expect((posted.tools as unknown[])[0]).toMatchObject({ type: 'function', name: 'get_weather', strict: false });
    expect(await getRaw(posted.id as string)).toEqual(posted);
  });

  it('a tool call and an incomplete answer are complete objects too', async () => {
    const { json: called } = await postRaw({ model, input: 'call get_weather {"city":"Oslo"}', tools });
    expectResponseResource(called);
    expect(called.output).toEqual([
      expect.objectContaining({ type: 'function_call', name: 'get_weather', arguments: '{"city":"Oslo"}', status: 'completed' }),
    ]);
    expect(await getRaw(called.id as string)).toEqual(called);

    const { json: cut } = await postRaw({ model, input: 'a long question that the limit will cut short', max_output_tokens: 3 });
    expectResponseResource(cut);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 3 });
    expect(await getRaw(cut.id as string)).toEqual(cut);
  });

  it('streamed: every snapshot is complete, and GET returns the final one', async () => {
    const stream = await client.responses.create({ model, input: 'stream me', stream: true, tools });
    const snapshots: unknown[] = [];
    const numbers: number[] = [];
    let final: OpenAI.Responses.Response | undefined;
    for await (const event of stream) {
      numbers.push(event.sequence_number);
      if ('response' in event) snapshots.push(event.response);
      if (event.type === 'response.completed') final = event.response;
    }
    expect(numbers).toEqual(numbers.map((_, i) => i));
    expect(snapshots.length).toBeGreaterThanOrEqual(3); // created, in_progress, completed
    for (const s of snapshots) expectResponseResource(s);
    expect(final).toBeDefined();
    expect(await getRaw(final!.id)).toEqual(final);
  });

  it('background: the queued object, GET while queued, cancel and GET after are complete', async () => {
    const slow = model === CHAT_MODEL ? `${CHAT_MODEL}-dev-slow-5000` : 'dev-slow-5000';
    const { status, json: queued } = await postRaw({ model: slow, input: 'later', background: true });
    expect(status).toBe(202);
    expectResponseResource(queued);
    expect(queued).toMatchObject({ status: 'queued', background: true, completed_at: null, usage: null, output: [] });
    expectResponseResource(await getRaw(queued.id as string));

    const cancelled = await fetch(`${gw.url}/v1/responses/${queued.id as string}/cancel`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}` },
    });
    expect(cancelled.status).toBe(200);
    const body = (await cancelled.json()) as Record<string, unknown>;
    expectResponseResource(body);
    expect(['cancelled', 'completed']).toContain(body.status);
    const after = await waitFor(async () => {
      const r = await getRaw(queued.id as string);
      return r.status === 'queued' || r.status === 'in_progress' ? undefined : r;
    });
    expectResponseResource(after);
  });

  it('flex: the blocking answer is complete and GET returns it; a flex background object too', async () => {
    const { status, json: flex } = await postRaw({ model, input: 'flexible', service_tier: 'flex' });
    expect(status).toBe(200);
    expectResponseResource(flex);
    expect(flex).toMatchObject({ status: 'completed', service_tier: 'flex' });
    expect(await getRaw(flex.id as string)).toEqual(flex);

    const { json: queued } = await postRaw({ model, input: 'flexible later', service_tier: 'flex', background: true });
    expectResponseResource(queued);
    const done = await waitFor(async () => {
      const r = await getRaw(queued.id as string);
      return r.status === 'completed' ? r : undefined;
    });
    expectResponseResource(done);
    expect(done).toMatchObject({ id: queued.id, created_at: queued.created_at, background: true, service_tier: 'flex' });
  });

  it('failed: GET of a request the upstream refused is complete, with the error', async () => {
    const failing = model === CHAT_MODEL ? `${CHAT_MODEL}-dev-status-500` : 'dev-status-500';
    const res = await fetch(`${gw.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: failing, input: 'fail' }),
    });
    expect(res.status).toBe(500);
    const id = res.headers.get('x-volley-response-id')!;
    await gw.terminalRow(parseResponseId(id));
    const got = await getRaw(id);
    expectResponseResource(got);
    expect(got).toMatchObject({ status: 'failed', error: { code: expect.any(String), message: expect.any(String) } });
  });
});
