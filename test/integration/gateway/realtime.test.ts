// Path 1 (realtime, not background) end to end: the official OpenAI SDK, unchanged, against
// the gateway in front of the development upstream; each call must end as the right row.
import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { requestMarkerKey, REQUEST_MARKER_HEADER, signRequestMarker } from '../../../src/upstream/request-marker.ts';
import { InlineCreateResponse } from '../../../src/gateway/recording.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;

beforeAll(async () => {
  gw = await startTestGateway();
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

function trackedId(response: Response): string {
  const header = response.headers.get('x-volley-response-id');
  expect(header).toMatch(/^resp_[0-9a-f-]{36}$/);
  return parseResponseId(header!);
}

describe('chat completions', () => {
  it('answers and records the completion with its usage', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'dev-model', messages: [{ role: 'user', content: 'hello volley' }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe('Echo: hello volley');
    const row = await gw.terminalRow(trackedId(response));
    expect(row).toMatchObject({
      state: 'completed',
      endpoint: '/v1/chat/completions',
      model: 'dev-model',
      serviceTier: 'default',
      background: false,
      createdBy: key.userId,
      apiKeyId: key.id,
      responseStatus: 200,
      promptTokens: data.usage!.prompt_tokens,
      completionTokens: data.usage!.completion_tokens,
      totalTokens: data.usage!.total_tokens,
    });
    expect(JSON.parse(row.responseBody!)).toEqual(data);
    expect(JSON.parse(row.body)).toEqual({ model: 'dev-model', messages: [{ role: 'user', content: 'hello volley' }] });
  });

  it('streams, and records the chunks assembled into one chat.completion with usage', async () => {
    const { data: stream, response } = await client.chat.completions
      .create({
        model: 'dev-model',
        messages: [{ role: 'user', content: 'stream me please' }],
        stream: true,
        stream_options: { include_usage: true },
      })
      .withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('Echo: stream me please');
    const row = await gw.terminalRow(trackedId(response));
    expect(row.state).toBe('completed');
    expect(row.totalTokens).toBe(usage!.total_tokens);
    const stored = JSON.parse(row.responseBody!);
    expect(stored).toMatchObject({
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Echo: stream me please' }, finish_reason: 'stop' }],
      usage,
    });
  });

  it('delivers the first chunk before a slow upstream has finished', async () => {
    const started = performance.now();
    // dev-chunk-300: the development upstream waits 300 ms between chunks (one per word).
    const stream = await client.chat.completions.create({
      model: 'dev-chunk-300',
      messages: [{ role: 'user', content: 'one two three four' }],
      stream: true,
    });
    let first: number | undefined;
    let text = '';
    for await (const chunk of stream) {
      first ??= performance.now() - started;
      text += chunk.choices[0]?.delta.content ?? '';
    }
    const total = performance.now() - started;
    expect(text).toBe('Echo: one two three four');
    // Five pieces, four 300 ms gaps: the whole stream takes >= 1.2 s; the first chunk is
    // sent before the first gap.
    expect(total).toBeGreaterThan(1_100);
    expect(first!).toBeLessThan(total - 800);
  });
});

describe('a client that goes away', () => {
  it('has its upstream call aborted and the request recorded as failed with 499', async () => {
    const abort = new AbortController();
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'dev-chunk-1000', messages: [{ role: 'user', content: 'a b c d e f g h' }], stream: true }),
      signal: abort.signal,
    });
    const id = trackedId(res);
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    const row = await gw.terminalRow(id);
    expect(row).toMatchObject({ state: 'failed', responseStatus: 499 });
    expect(JSON.parse(row.responseBody!)).toMatchObject({ error: { code: 'client_closed_request' } });
  });
});

describe('embeddings', () => {
  it('answers and records the list with its usage', async () => {
    const { data, response } = await client.embeddings
      .create({ model: 'dev-embed', input: 'embed this' })
      .withResponse();
    expect(data.data[0]?.embedding.length).toBeGreaterThan(0);
    const row = await gw.terminalRow(trackedId(response));
    expect(row).toMatchObject({ state: 'completed', endpoint: '/v1/embeddings', promptTokens: data.usage.prompt_tokens });
    expect(JSON.parse(row.responseBody!).usage).toEqual(data.usage);
  });
});

describe('responses (realtime)', () => {
  it('puts the gateway id in the body, records the response and serves it by id', async () => {
    const { data: created, response } = await client.responses
      .create({ model: 'dev-model', input: 'tell me something' })
      .withResponse();
    const id = trackedId(response);
    expect(created.id).toBe(`resp_${id}`);
    expect(created.output_text).toBe('Echo: tell me something');
    const row = await gw.terminalRow(id);
    expect(row).toMatchObject({ state: 'completed', endpoint: '/v1/responses', totalTokens: created.usage!.total_tokens });
    expect(JSON.parse(row.responseBody!)).toMatchObject({ id: created.id, status: 'completed' });

    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toMatchObject({ id: created.id, status: 'completed', output_text: 'Echo: tell me something' });
    expect(retrieved.usage?.total_tokens).toBe(created.usage!.total_tokens);
  });

  it('streams with the gateway id in every snapshot event and records the final response', async () => {
    const { data: stream, response } = await client.responses
      .create({ model: 'dev-model', input: 'stream a response', stream: true })
      .withResponse();
    const id = trackedId(response);
    const snapshotIds = new Set<string>();
    let completed: OpenAI.Responses.Response | undefined;
    let text = '';
    for await (const event of stream) {
      if ('response' in event) snapshotIds.add(event.response.id);
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed') completed = event.response;
    }
    expect([...snapshotIds]).toEqual([`resp_${id}`]);
    expect(text).toBe('Echo: stream a response');
    const row = await gw.terminalRow(id);
    expect(row.state).toBe('completed');
    expect(JSON.parse(row.responseBody!)).toEqual(completed);
    expect(row.totalTokens).toBe(completed!.usage!.total_tokens);
    const retrieved = await client.responses.retrieve(`resp_${id}`);
    expect(retrieved.output_text).toBe('Echo: stream a response');
  });
});

describe('upstream errors', () => {
  it.each([400, 429, 500, 503])('passes %i through and records the request as failed', async (status) => {
    const err = await client.chat.completions
      .create({ model: `dev-status-${status}`, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiError = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiError.status).toBe(status);
    expect(apiError.message).toContain('Simulated');
    const row = await gw.terminalRow(trackedId(new Response(null, { headers: apiError.headers })));
    expect(row).toMatchObject({ state: 'failed', responseStatus: status });
    expect(JSON.parse(row.error!)).toMatchObject({ type: 'NonRetriableHttpStatus', details: { status } });
  });

  it('answers 502 with an envelope when the upstream cannot be reached, and records it', async () => {
    const dead = await startTestGateway();
    try {
      await dead.upstream.close();
      const k = await dead.createKey();
      const res = await fetch(`${dead.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'dev-model', messages: [] }),
      });
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: { type: 'server_error', code: 'upstream_unreachable', param: null } });
      const row = await dead.terminalRow(trackedId(res));
      expect(row).toMatchObject({ state: 'failed', responseStatus: 502 });
    } finally {
      await dead.close();
    }
  });
});

describe('untracked calls', () => {
  const bodyOf = (content: string) => JSON.stringify({ model: 'dev-model', messages: [{ role: 'user', content }] });
  const ask = (key: string, content: string, marker?: string) =>
    fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        ...(marker ? { [REQUEST_MARKER_HEADER]: marker } : {}),
      },
      body: bodyOf(content),
    });
  /** A request of this deployment in flight (its `processing` row), as a marked call's would be. */
  const inFlight = async (userId: string): Promise<string> => {
    const id = randomUUID();
    await new InlineCreateResponse(gw.t.db).record({
      requestId: id,
      batchId: randomUUID(),
      body: '{}',
      model: 'dev-model',
      endpoint: '/v1/chat/completions',
      serviceTier: 'default',
      createdBy: userId,
      apiKeyId: null,
    });
    return id;
  };
  const countRows = async (userId: string) =>
    (await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE created_by = $1`, [userId])).rows[0].n as number;

  it('proxies a call carrying a marker this deployment signed, for its body and a live request, without recording it', async () => {
    const k = await gw.createKey();
    const live = await inFlight(k.userId);
    const res = await ask(k.key, 'hi', signRequestMarker(requestMarkerKey(ADMIN_TOKEN), live, bodyOf('hi')));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-volley-response-id')).toBeNull();
    expect(((await res.json()) as OpenAI.ChatCompletion).choices[0]?.message.content).toBe('Echo: hi');
    // A tracked call after it: once its row exists, the untracked one would have too.
    const { response } = await gw.client(k.key).chat.completions
      .create({ model: 'dev-model', messages: [{ role: 'user', content: 'tracked' }] })
      .withResponse();
    await gw.terminalRow(trackedId(response));
    expect(await countRows(k.userId)).toBe(2);
    // The tracked call's complete-response job (create-response's row is written inline).
    const jobs = await gw.t.pool.query(`SELECT name FROM pgboss.job WHERE data->>'createdBy' = $1`, [k.userId]);
    expect(jobs.rows.map((j) => j.name)).toEqual(['complete-response']);
  });

  it('tracks a replayed marker like any call: after its request ended, for another body, expired', async () => {
    const k = await gw.createKey();
    const key = requestMarkerKey(ADMIN_TOKEN);
    const ended = randomUUID(); // no live row: its request is over (or never was)
    const live = await inFlight(k.userId);
    const replays = [
      { content: 'replay after the end', marker: signRequestMarker(key, ended, bodyOf('replay after the end')) },
      { content: 'another body', marker: signRequestMarker(key, live, bodyOf('the body it was made for')) },
      { content: 'expired', marker: signRequestMarker(key, live, bodyOf('expired'), Date.now() - 10 * 60_000) },
    ];
    for (const { content, marker } of replays) {
      const res = await ask(k.key, content, marker);
      expect(res.status, content).toBe(200);
      const id = res.headers.get('x-volley-response-id');
      expect(id, content).toMatch(/^resp_/);
      expect((await gw.terminalRow(parseResponseId(id!))).state).toBe('completed');
    }
    expect(await countRows(k.userId)).toBe(1 + replays.length);
  });

  it('records a call whose marker is forged, unsigned or signed by another deployment', async () => {
    const k = await gw.createKey();
    const markers = [
      'abc',
      randomUUID(),
      `${randomUUID()}.${'A'.repeat(43)}`,
      signRequestMarker(requestMarkerKey('some-other-deployment-token'), randomUUID(), '{}'),
    ];
    for (const [i, marker] of markers.entries()) {
      const res = await ask(k.key, `forged ${i}`, marker);
      expect(res.status).toBe(200);
      await gw.terminalRow(parseResponseId(res.headers.get('x-volley-response-id')!));
    }
    const { rows } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE created_by = $1`, [k.userId]);
    expect(rows[0].n).toBe(markers.length);
  });
});

describe('observability', () => {
  it('counts requests by route and status in /metrics', async () => {
    await client.chat.completions.create({ model: 'dev-model', messages: [{ role: 'user', content: 'count me' }] });
    const text = await waitFor(async () => {
      const t = await (await fetch(`${gw.url}/metrics`)).text();
      return t.includes('volley_job_outcomes_total{queue="complete-response",outcome="completed"}') ? t : undefined;
    });
    expect(text).toMatch(/volley_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200"\} \d+/);
    expect(text).toContain('volley_http_request_duration_seconds_bucket');
    expect(text).toContain('volley_poller_waiters');
  });

  it('reports liveness and readiness', async () => {
    expect(await (await fetch(`${gw.url}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { database: 'ok', migrations: 'ok', queues: 'ok' } });
  });
});
