// Paths 2–4 (background, flex background, flex blocking) and cancellation, end to end with
// the official SDK: the request processor runs in-process against the development upstream.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';
import { waitFor } from '../../helpers/wait.ts';

// One upstream call at a time for this model (per-model concurrency), so a second request
// for it stays pending while the first is in flight.
const SINGLE = 'single-dev-slow-5000';

let gw: TestGateway;
let key: TestKey;
let client: OpenAI;

beforeAll(async () => {
  gw = await startTestGateway();
  // One call of SINGLE at a time, across every flex process: the model's own limit.
  const created = await fetch(`${gw.url}/admin/models`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: SINGLE, upstream_url: gw.upstream.url, concurrency: 1 }),
  });
  expect(created.status).toBe(201);
  key = await gw.createKey();
  client = gw.client(key.key);
});
afterAll(async () => {
  await gw?.close();
});

async function retrieveUntil(id: string, done: (r: OpenAI.Responses.Response) => boolean) {
  return waitFor(
    async () => {
      const r = await client.responses.retrieve(id);
      return done(r) ? r : undefined;
    },
    { what: `${id} to reach the expected status` },
  );
}

async function rowState(requestId: string): Promise<string | undefined> {
  const { rows } = await gw.t.pool.query(`SELECT state FROM requests WHERE id = $1`, [requestId]);
  return rows[0]?.state;
}

describe('background', () => {
  it('answers 202 queued, then runs the request; retrieve returns it completed', async () => {
    const { data: queued, response } = await client.responses
      .create({ model: 'dev-model', input: 'in the background', background: true })
      .withResponse();
    expect(response.status).toBe(202);
    expect(response.headers.get('x-volley-response-id')).toBe(queued.id);
    expect(response.headers.get('openai-poll-after-ms')).toMatch(/^\d+$/);
    expect(queued).toMatchObject({ object: 'response', status: 'queued', background: true, model: 'dev-model', output: [] });

    const done = await retrieveUntil(queued.id, (r) => r.status === 'completed');
    expect(done.output_text).toBe('Echo: in the background');
    const row = await gw.terminalRow(parseResponseId(queued.id));
    expect(row).toMatchObject({
      state: 'completed',
      background: true,
      serviceTier: 'default',
      createdBy: key.userId,
      apiKeyId: key.id,
      responseStatus: 200,
      completionWindow: '10m',
    });
    expect(row.totalTokens).toBe(done.usage!.total_tokens);
    expect(row.expiresAt).toBeInstanceOf(Date);
  });

  it('flex background: queued at once, completed later, recorded with the flex window', async () => {
    const queued = await client.responses.create({ model: 'dev-model', input: 'flex later', background: true, service_tier: 'flex' });
    expect(queued).toMatchObject({ status: 'queued', service_tier: 'flex', background: true });
    const done = await retrieveUntil(queued.id, (r) => r.status === 'completed');
    expect(done.output_text).toBe('Echo: flex later');
    const row = await gw.terminalRow(parseResponseId(queued.id));
    expect(row).toMatchObject({ state: 'completed', serviceTier: 'flex', background: true, completionWindow: '1h' });
  });

  it('records an upstream 4xx as failed, and retrieve reports the error', async () => {
    const queued = await client.responses.create({ model: 'dev-status-400', input: 'x', background: true });
    const failed = await retrieveUntil(queued.id, (r) => r.status === 'failed');
    expect(failed.error).toMatchObject({ code: 'invalid_request_error', http_status: 400, message: expect.stringContaining('Simulated') });
  });
});

describe('flex, not background', () => {
  it('holds the connection and answers the final response', async () => {
    const { data, response } = await client.responses
      .create({ model: 'dev-model', input: 'flex now', service_tier: 'flex' })
      .withResponse();
    expect(response.status).toBe(200);
    expect(data).toMatchObject({ status: 'completed', service_tier: 'flex', background: false, output_text: 'Echo: flex now' });
    expect(response.headers.get('x-volley-response-id')).toBe(data.id);
    const row = await gw.terminalRow(parseResponseId(data.id));
    expect(row).toMatchObject({ state: 'completed', serviceTier: 'flex', background: false, totalTokens: data.usage!.total_tokens });
  });

  it('answers with the status that matches a failed response', async () => {
    const err = await client.responses.create({ model: 'dev-status-404', input: 'x', service_tier: 'flex' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toContain('Simulated');
  });

  it('answers 504 with an envelope when the wait times out; the request keeps running', async () => {
    const impatient = await startTestGateway({ env: { BLOCKING_FLEX_TIMEOUT_MS: '300' } });
    try {
      const k = await impatient.createKey();
      const res = await fetch(`${impatient.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${k.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'dev-slow-1500', input: 'take your time', service_tier: 'flex' }),
      });
      expect(res.status).toBe(504);
      const body = await res.json();
      expect(body).toEqual({ error: { type: 'server_error', code: 'timeout', param: null, message: expect.stringContaining('still running') } });
      const id = res.headers.get('x-volley-response-id')!;
      expect(id).toMatch(/^resp_/);
      const row = await impatient.terminalRow(parseResponseId(id));
      expect(row.state).toBe('completed');
      const retrieved = await impatient.client(k.key).responses.retrieve(id);
      expect(retrieved.output_text).toBe('Echo: take your time');
    } finally {
      await impatient.close();
    }
  });
});

describe('cancel', () => {
  it('cancels a pending request at once and an in-flight one by aborting its call', async () => {
    const inFlight = await client.responses.create({ model: SINGLE, input: 'first', background: true });
    const inFlightId = parseResponseId(inFlight.id);
    await waitFor(async () => ((await rowState(inFlightId)) === 'processing' ? true : undefined), { what: 'the first call to start' });
    const pending = await client.responses.create({ model: SINGLE, input: 'second', background: true });
    const pendingId = parseResponseId(pending.id);

    // The model's one slot is taken: the second request waits in `pending`.
    const { data: waiting, response } = await client.responses.retrieve(pending.id).withResponse();
    expect(waiting.status).toBe('queued');
    expect(response.headers.get('openai-poll-after-ms')).toMatch(/^\d+$/);

    const cancelledPending = await client.responses.cancel(pending.id);
    expect(cancelledPending).toMatchObject({ id: pending.id, status: 'cancelled' });
    expect(await rowState(pendingId)).toBe('canceled');

    const started = performance.now();
    const cancelledInFlight = await client.responses.cancel(inFlight.id);
    expect(cancelledInFlight.status).toBe('cancelled');
    // Idempotent.
    expect((await client.responses.cancel(inFlight.id)).status).toBe('cancelled');
    // The aborted call frees the model's slot long before the upstream's 5 s answer would
    // have, so a new request for the model completes quickly.
    const next = await client.responses.create({ model: SINGLE.replace('5000', '10'), input: 'after', background: true });
    await retrieveUntil(next.id, (r) => r.status === 'completed');
    const follow = await client.responses.create({ model: SINGLE, input: 'third', background: true });
    await waitFor(async () => ((await rowState(parseResponseId(follow.id))) === 'processing' ? true : undefined), {
      what: 'the slot to be free again',
    });
    expect(performance.now() - started).toBeLessThan(4_000);
    await client.responses.cancel(follow.id);
    const row = await gw.terminalRow(inFlightId);
    expect(row.state).toBe('canceled');
    expect(row.canceledAt).toBeInstanceOf(Date);
  });

  it('cancelling a completed background response returns it unchanged', async () => {
    const queued = await client.responses.create({ model: 'dev-model', input: 'quick', background: true });
    await retrieveUntil(queued.id, (r) => r.status === 'completed');
    const after = await client.responses.cancel(queued.id);
    expect(after.status).toBe('completed');
  });
});
