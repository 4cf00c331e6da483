import { Agent, ServerResponse, request } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_BODY_BYTES, startDevUpstream, type DevUpstream } from '../../../src/dev-upstream/server.ts';

let up: DevUpstream;
let client: OpenAI;

beforeAll(async () => {
  up = await startDevUpstream({ port: 0 });
  client = new OpenAI({ baseURL: up.url, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await up.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** POSTs `body` with node:http through `agent`; resolves with the status and whether the socket was reused. */
function post(agent: Agent, path: string, body: string): Promise<{ status: number; reused: boolean; connection: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request(`${up.url}${path}`, { method: 'POST', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const chatBody = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });

describe('request bodies', () => {
  it('reads a body as JSON whatever its content type, or without one', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream']) {
      const res = await fetch(`${up.url}/chat/completions`, { method: 'POST', headers: { 'content-type': type }, body: chatBody });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ choices: [{ message: { content: 'Echo: hi' } }] });
    }
    // node:http sends no Content-Type unless told to.
    const agent = new Agent();
    try {
      expect(await post(agent, '/chat/completions', chatBody)).toMatchObject({ status: 200 });
    } finally {
      agent.destroy();
    }
  });

  it.each([
    ['no body', undefined],
    ['an empty body', ''],
    ['a JSON array', '[{"model":"m"}]'],
    ['a JSON string', '"m"'],
  ])('answers %s with 400 invalid_json', async (_name, body) => {
    const res = await fetch(`${up.url}/chat/completions`, {
      method: 'POST',
      ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json', param: null } });
  });

  it('answers a body over MAX_BODY_BYTES with 413 and closes the connection', async () => {
    const res = await fetch(`${up.url}/chat/completions`, { method: 'POST', body: ' '.repeat(MAX_BODY_BYTES + 1) });
    expect(res.status).toBe(413);
    expect(res.headers.get('connection')).toBe('close');
    expect(await res.json()).toEqual({
      error: {
        message: `Request body exceeds ${MAX_BODY_BYTES} bytes`,
        type: 'invalid_request_error',
        param: null,
        code: 'request_too_large',
      },
    });
  });

  it('keeps connections alive, also after a body that is not JSON', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await post(agent, '/chat/completions', chatBody);
      expect(first).toMatchObject({ status: 200, reused: false, connection: 'keep-alive' });
      expect(await post(agent, '/chat/completions', '{"model":')).toMatchObject({ status: 400, reused: true });
      expect(await post(agent, '/chat/completions', chatBody)).toMatchObject({ status: 200, reused: true });
    } finally {
      agent.destroy();
    }
  });
});

describe('errors', () => {
  it('answers invalid JSON with 400 in the OpenAI envelope', async () => {
    const res = await fetch(`${up.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"model": "m", ',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: Record<string, unknown> };
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: null });
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('answers a missing model with 400 naming the parameter', async () => {
    const res = await fetch(`${up.url}/responses`, { method: 'POST', body: '{"input":"hi"}' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: 'invalid_request_error', param: 'model' } });
  });

  it('answers an unknown path or method with 404', async () => {
    const res = await fetch(`${up.url}/nothing-here`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: 'not_found_error', message: 'Invalid URL (POST /v1/nothing-here)' } });
    expect((await fetch(`${up.url}/chat/completions`)).status).toBe(404);
  });

  it.each([
    [400, OpenAI.BadRequestError, 'invalid_request_error'],
    [401, OpenAI.AuthenticationError, 'authentication_error'],
    [403, OpenAI.PermissionDeniedError, 'permission_error'],
    [404, OpenAI.NotFoundError, 'not_found_error'],
    [429, OpenAI.RateLimitError, 'rate_limit_error'],
    [500, OpenAI.InternalServerError, 'server_error'],
    [503, OpenAI.InternalServerError, 'server_error'],
  ])('answers x-dev-status: %i with that status and error type', async (status, errorClass, type) => {
    const err = await client.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'x-dev-status': String(status) } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errorClass);
    expect(err).toMatchObject({ status, type });
  });

  it('answers the status named by a dev-status- model, for streams too', async () => {
    const err = await client.responses.create({ model: 'dev-status-500', input: 'hi' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const streamErr = await client.chat.completions
      .create({ model: 'dev-status-429', messages: [{ role: 'user', content: 'hi' }], stream: true })
      .catch((e: unknown) => e);
    expect(streamErr).toBeInstanceOf(OpenAI.RateLimitError);
  });
});

describe('latency controls', () => {
  it('waits x-dev-latency-ms before answering', async () => {
    const start = performance.now();
    await client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-dev-latency-ms': '300' } },
    );
    expect(performance.now() - start).toBeGreaterThanOrEqual(280);
  });

  it('waits for a dev-slow- model before the first chunk', async () => {
    const start = performance.now();
    const stream = await client.responses.create({ model: 'dev-slow-300', input: 'hi', stream: true });
    let first: number | undefined;
    for await (const _ of stream) first ??= performance.now() - start;
    expect(first).toBeGreaterThanOrEqual(280);
  });

  it('spaces stream chunks by x-dev-chunk-delay-ms, the first arriving well before the last', async () => {
    const start = performance.now();
    const stream = await client.chat.completions.create(
      { model: 'm', messages: [{ role: 'user', content: 'one two three four five six' }], stream: true },
      { headers: { 'x-dev-chunk-delay-ms': '80' } },
    );
    const arrivals: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta.content) arrivals.push(performance.now() - start);
    // "Echo: one … six" is 7 pieces, so 6 gaps of 80 ms: at least ~480 ms between first and last.
    expect(arrivals).toHaveLength(7);
    const first = arrivals[0] ?? Number.NaN;
    const last = arrivals.at(-1) ?? Number.NaN;
    expect(last - first).toBeGreaterThanOrEqual(400);
    expect(first).toBeLessThan(last - 300);
  });
});

describe('client disconnects', () => {
  it('stops waiting when the client aborts during the latency, and keeps serving', async () => {
    const writeHead = vi.spyOn(ServerResponse.prototype, 'writeHead');
    try {
      const controller = new AbortController();
      const pending = client.chat.completions
        .create(
          { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
          { headers: { 'x-dev-latency-ms': '400' }, signal: controller.signal },
        )
        .catch((e: unknown) => e);
      await sleep(50);
      controller.abort();
      expect(await pending).toBeInstanceOf(OpenAI.APIUserAbortError);
      // Past the 400 ms the aborted request would have answered at.
      await sleep(600);
      expect(writeHead).not.toHaveBeenCalled();
    } finally {
      writeHead.mockRestore();
    }
    const ok = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'still up' }] });
    expect(ok.choices[0]?.message.content).toBe('Echo: still up');
  });

  it('stops writing a stream when the client goes away mid-stream', async () => {
    const write = vi.spyOn(ServerResponse.prototype, 'write');
    try {
      const controller = new AbortController();
      const stream = await client.chat.completions.create(
        { model: 'm', messages: [{ role: 'user', content: 'w '.repeat(100) }], stream: true },
        { headers: { 'x-dev-chunk-delay-ms': '30' }, signal: controller.signal },
      );
      let received = 0;
      // The SDK ends the iteration quietly when its own controller aborts.
      for await (const _ of stream) {
        if (++received === 3) controller.abort();
      }
      expect(received).toBeLessThan(10);
      await sleep(100);
      const writesAfterAbort = write.mock.calls.length;
      expect(writesAfterAbort).toBeGreaterThan(0);
      // 101 pieces at 30 ms would keep writing for ~3 s; none may follow the disconnect.
      expect(writesAfterAbort).toBeLessThan(20);
      await sleep(300);
      expect(write.mock.calls.length).toBe(writesAfterAbort);
    } finally {
      write.mockRestore();
    }
    const ok = await client.responses.create({ model: 'm', input: 'after abort' });
    expect(ok.output_text).toBe('Echo: after abort');
  });

  it('close() ends in-flight requests promptly instead of waiting for them', async () => {
    const other = await startDevUpstream({ latencyMs: 10_000 });
    const otherClient = new OpenAI({ baseURL: other.url, apiKey: 'x', maxRetries: 0 });
    const pending = otherClient.responses.create({ model: 'm', input: 'slow' }).catch((e: unknown) => e);
    await sleep(50);
    const start = performance.now();
    await other.close();
    expect(performance.now() - start).toBeLessThan(2_000);
    expect(await pending).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});
