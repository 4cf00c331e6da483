import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_REPLY } from '../../../src/dev-upstream/reply.ts';
import { startDevUpstream, type DevUpstream, type DevUpstreamCall } from '../../../src/dev-upstream/server.ts';

let up: DevUpstream;
let client: OpenAI;
const calls: DevUpstreamCall[] = [];

beforeAll(async () => {
  up = await startDevUpstream({ port: 0, onRequest: (call) => calls.push(call) });
  client = new OpenAI({ baseURL: up.url, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await up.close();
});

describe('startDevUpstream', () => {
  it('listens on a random port and reports a base URL ending in /v1', () => {
    expect(up.port).toBeGreaterThan(0);
    expect(up.url).toBe(`http://127.0.0.1:${up.port}/v1`);
  });
});

describe('POST /v1/chat/completions', () => {
  it('answers a deterministic chat.completion echoing the last user message', async () => {
    const request = {
      model: 'my-model',
      messages: [
        { role: 'system' as const, content: 'You are terse.' },
        { role: 'user' as const, content: 'hello there world' },
      ],
    };
    const { data: completion, response } = await client.chat.completions.create(request).withResponse();
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(completion.object).toBe('chat.completion');
    expect(completion.model).toBe('my-model');
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60);
    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Echo: hello there world' });
    expect(completion.choices[0]?.finish_reason).toBe('stop');
    // 14 + 17 prompt characters → 8 tokens; 23 output characters → 6 tokens.
    expect(completion.usage).toMatchObject({ prompt_tokens: 8, completion_tokens: 6, total_tokens: 14 });
    expect(response.headers.get('x-volley-dev-upstream')).toMatch(/not a real model/);
    expect(response.headers.get('x-request-id')).toMatch(/^req_/);

    const again = await client.chat.completions.create(request);
    expect(again.id).not.toBe(completion.id);
    expect(again.choices).toEqual(completion.choices);
    expect(again.usage).toEqual(completion.usage);
  });

  it('answers the fixed sentence when there is no user message', async () => {
    const completion = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'system', content: 'nothing to echo' }],
    });
    expect(completion.choices[0]?.message.content).toBe(DEFAULT_REPLY);
  });

  it('streams the same content in several chunks, then a usage chunk when asked, then ends', async () => {
    const messages = [{ role: 'user' as const, content: 'the quick brown fox jumps' }];
    const whole = await client.chat.completions.create({ model: 'm', messages });
    const stream = await client.chat.completions.create({
      model: 'm',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);

    const ids = new Set(chunks.map((c) => c.id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^chatcmpl-/);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'm')).toBe(true);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const contentChunks = chunks.filter((c) => (c.choices[0]?.delta.content ?? '') !== '');
    expect(contentChunks.length).toBeGreaterThanOrEqual(5);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(whole.choices[0]?.message.content);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toEqual(whole.usage);
  });

  it('sends no usage chunk without stream_options.include_usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'a b c' }],
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.usage === undefined && c.choices.length === 1)).toBe(true);
  });

  it('reads a multi-megabyte body and cuts the echo', async () => {
    const big = 'word '.repeat(600_000); // 3 MB
    const completion = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: big }] });
    expect(completion.choices[0]?.message.content).toMatch(/^Echo: word word .*…$/);
    expect(completion.usage?.prompt_tokens).toBe(750_000);
  });
});

describe('POST /v1/responses', () => {
  it('answers a completed response whose output_text echoes the input string', async () => {
    const response = await client.responses.create({ model: 'dev-chat', input: 'hello responses api' });
    expect(response.id).toMatch(/^resp_/);
    expect(response.object).toBe('response');
    expect(response.status).toBe('completed');
    expect(response.model).toBe('dev-chat');
    expect(response.error).toBeNull();
    expect(response.output_text).toBe('Echo: hello responses api');
    expect(response.output).toHaveLength(1);
    const message = response.output[0];
    expect(message).toMatchObject({ type: 'message', status: 'completed', role: 'assistant' });
    expect(message?.type === 'message' && message.id).toMatch(/^msg_/);
    expect(response.usage).toEqual({
      input_tokens: 5,
      input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 },
      output_tokens: 7,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: 12,
    });
  });

  it('accepts input as message items and echoes instructions and settings', async () => {
    const response = await client.responses.create({
      model: 'm',
      instructions: 'be nice',
      temperature: 0.2,
      metadata: { run: 'a' },
      input: [
        { role: 'user', content: 'first question' },
        { role: 'assistant', content: 'answer' },
        { role: 'user', content: [{ type: 'input_text', text: 'second question' }] },
      ],
    });
    expect(response.output_text).toBe('Echo: second question');
    expect(response.instructions).toBe('be nice');
    expect(response.temperature).toBe(0.2);
    expect(response.metadata).toEqual({ run: 'a' });
    // 7 + 14 + 6 + 15 = 42 characters → 11 tokens.
    expect(response.usage?.input_tokens).toBe(11);
  });

  it('streams the events in order with increasing sequence numbers, ending with response.completed', async () => {
    const whole = await client.responses.create({ model: 'm', input: 'one two three four' });
    const stream = await client.responses.create({ model: 'm', input: 'one two three four', stream: true });
    const events = [];
    for await (const event of stream) events.push(event);

    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === 'response.output_text.delta').length;
    expect(deltas).toBeGreaterThanOrEqual(5);
    expect(types).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      ...Array<string>(deltas).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));

    const text = events.map((e) => (e.type === 'response.output_text.delta' ? e.delta : '')).join('');
    expect(text).toBe(whole.output_text);
    const created = events[0];
    expect(created?.type === 'response.created' && created.response.status).toBe('in_progress');
    const completed = events.at(-1);
    if (completed?.type !== 'response.completed') throw new Error('last event is not response.completed');
    expect(completed.response.status).toBe('completed');
    expect(completed.response.id).toBe(created?.type === 'response.created' ? created.response.id : undefined);
    expect(completed.response.usage).toEqual(whole.usage);
    expect(completed.response.output).toEqual(
      whole.output.map((item) => (item.type === 'message' ? { ...item, id: completed.response.output[0]?.id } : item)),
    );
  });

  it('works with the SDK stream helper, which accumulates the final response', async () => {
    const stream = client.responses.stream({ model: 'm', input: 'stream helper check' });
    const snapshots: string[] = [];
    stream.on('response.output_text.delta', (event) => snapshots.push(event.snapshot));
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Echo: stream helper check');
    expect(final.status).toBe('completed');
    expect(final.usage?.output_tokens).toBe(7);
    expect(snapshots.at(-1)).toBe('Echo: stream helper check');
    expect(snapshots.length).toBeGreaterThan(1);
  });
});

describe('POST /v1/embeddings', () => {
  it('decodes the default base64 encoding into deterministic float vectors', async () => {
    const res = await client.embeddings.create({ model: 'dev-embedding', input: ['alpha', 'beta'] });
    expect(res.object).toBe('list');
    expect(res.model).toBe('dev-embedding');
    expect(res.data.map((d) => d.index)).toEqual([0, 1]);
    for (const d of res.data) {
      expect(d.object).toBe('embedding');
      expect(d.embedding).toHaveLength(8);
      expect(d.embedding.every((x) => Number.isFinite(x) && Math.abs(x) <= 1)).toBe(true);
    }
    expect(res.data[0]?.embedding).not.toEqual(res.data[1]?.embedding);
    // 'alpha' → ceil(5 / 4) = 2 tokens, 'beta' → 1.
    expect(res.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });

    const float = await client.embeddings.create({ model: 'dev-embedding', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(float.data.map((d) => d.embedding)).toEqual(res.data.map((d) => d.embedding));
  });

  it('honours dimensions and accepts token arrays', async () => {
    const res = await client.embeddings.create({ model: 'e', input: 'x', dimensions: 32 });
    expect(res.data[0]?.embedding).toHaveLength(32);
    const tokens = await client.embeddings.create({ model: 'e', input: [[1, 2, 3], [4, 5]] });
    expect(tokens.data).toHaveLength(2);
    expect(tokens.usage.prompt_tokens).toBe(5);
  });

  it('rejects a bad input with an OpenAI error', async () => {
    const err = await client.embeddings.create({ model: 'e', input: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input');
  });
});

describe('GET /v1/models', () => {
  it('lists the development models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    expect(models.map((m) => m.id)).toContain('dev-chat');
    expect(models.every((m) => m.object === 'model' && m.owned_by.includes('development'))).toBe(true);
    expect((await client.models.retrieve('anything')).id).toBe('anything');
  });

  it('retrieves ids with slashes and escapes whole, and answers 404 for none or a bad escape', async () => {
    const res = await fetch(`${up.url}/models/ft%3Agpt-4o/org/my%20model`);
    expect(await res.json()).toMatchObject({ id: 'ft:gpt-4o/org/my model', object: 'model' });
    for (const path of ['/models/', '/models/%E0%A4%A']) {
      const missing = await fetch(`${up.url}${path}`);
      expect(missing.status).toBe(404);
      expect(await missing.json()).toMatchObject({ error: { type: 'not_found_error', message: `Invalid URL (GET /v1${path})` } });
    }
  });
});

describe('the request hook', () => {
  it('sees each request with its parsed body and headers', async () => {
    const body = {
      model: 'm',
      input: [
        { role: 'user', content: 'earlier turn' },
        { role: 'user', content: 'latest turn' },
      ],
      metadata: { run: 'hook' },
    };
    calls.length = 0;
    await client.responses.create(body as OpenAI.Responses.ResponseCreateParamsNonStreaming, {
      headers: { 'x-test-case': 'hook' },
      query: { trace: '1' },
    });
    expect(calls).toHaveLength(1);
    const call = calls[0];
    expect(call).toMatchObject({ method: 'POST', path: '/v1/responses', body });
    expect(call?.headers['x-test-case']).toBe('hook');
  });

  it('sees GETs, unknown paths and bodies that do not parse, without a body', async () => {
    calls.length = 0;
    await fetch(`${up.url}/models`);
    await fetch(`${up.url}/nowhere?x=1`, { method: 'POST', body: '{}' });
    await fetch(`${up.url}/chat/completions`, { method: 'POST', body: '{"model":' });
    expect(calls.map((c) => [c.method, c.path, c.body])).toEqual([
      ['GET', '/v1/models', undefined],
      ['POST', '/v1/nowhere', undefined],
      ['POST', '/v1/chat/completions', undefined],
    ]);
  });

  it('runs before the answer: a hook that throws makes the request fail with 500', async () => {
    const failing = await startDevUpstream({
      onRequest: (call) => {
        if (JSON.stringify(call.body).includes('forbidden')) throw new Error('unexpected upstream request');
      },
    });
    try {
      const res = await fetch(`${failing.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'forbidden' }] }),
      });
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({
        error: { type: 'server_error', message: 'Development upstream failed: unexpected upstream request' },
      });
      const ok = await fetch(`${failing.url}/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'fine' }] }),
      });
      expect(ok.status).toBe(200);
    } finally {
      await failing.close();
    }
  });
});
