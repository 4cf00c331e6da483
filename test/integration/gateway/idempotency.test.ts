// Idempotency-Key (DESIGN 13): the same key with the same body is one request (one row) and
// gets the first request's answer, whether the retry comes after it finished, while it runs,
// or through another gateway process; a background request keeps its id; another body is 409.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseResponseId } from '../../../src/responses/response-id.ts';
import { startTestGateway, type TestGateway, type TestKey } from '../../helpers/app.ts';

let gw: TestGateway;
let key: TestKey;
let other: string;
beforeAll(async () => {
  gw = await startTestGateway();
  key = await gw.createKey();
  other = (await gw.startWebProcess()).url;
});
afterAll(async () => {
  await gw?.close();
});

interface Answer {
  status: number;
  id: string | null;
  body: string;
  replayed: boolean;
}

async function post(base: string, path: string, body: object, idempotencyKey: string): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
  });
  return { status: res.status, id: res.headers.get('x-volley-response-id'), body: await res.text(), replayed: res.headers.get('idempotent-replayed') === 'true' };
}

const rowsFor = async (marker: string) =>
  (await gw.t.pool.query(`SELECT id FROM requests WHERE created_by = $1 AND body LIKE '%' || $2 || '%'`, [key.userId, marker])).rows;

const chat = (marker: string, model = 'dev-model') => ({ model, messages: [{ role: 'user', content: marker }] });

describe('Idempotency-Key', () => {
  it('a retry after the request finished gets the same answer and makes no second row', async () => {
    const marker = `after ${randomUUID()}`;
    const k = randomUUID();
    const first = await post(gw.url, '/v1/chat/completions', chat(marker), k);
    expect(first.status).toBe(200);
    await gw.terminalRow(parseResponseId(first.id!));
    const again = await post(gw.url, '/v1/chat/completions', chat(marker), k);
    expect({ status: again.status, id: again.id, replayed: again.replayed }).toEqual({ status: 200, id: first.id, replayed: true });
    expect(JSON.parse(again.body)).toEqual(JSON.parse(first.body));
    expect(await rowsFor(marker)).toHaveLength(1);
  });

  it('concurrent sends, to two gateway processes, are one request with one answer', async () => {
    const marker = `concurrent ${randomUUID()}`;
    const k = randomUUID();
    const answers = await Promise.all(
      [gw.url, other, gw.url, other].map((base) => post(base, '/v1/chat/completions', chat(marker, 'dev-slow-500'), k)),
    );
    for (const a of answers) expect(a.status).toBe(200);
    expect(new Set(answers.map((a) => a.id)).size).toBe(1);
    const bodies = answers.map((a) => JSON.parse(a.body) as { choices: unknown });
    for (const b of bodies) expect(b.choices).toEqual(bodies[0]!.choices);
    expect(await rowsFor(marker)).toHaveLength(1);
  });

  it('a streamed request retried gets a stream with the same answer', async () => {
    const marker = `stream ${randomUUID()}`;
    const k = randomUUID();
    const first = await post(gw.url, '/v1/chat/completions', { ...chat(marker), stream: true }, k);
    await gw.terminalRow(parseResponseId(first.id!));
    const again = await post(other, '/v1/chat/completions', { ...chat(marker), stream: true }, k);
    expect(again.status).toBe(200);
    expect(again.body).toContain(`Echo: ${marker}`);
    expect(again.body.trim().endsWith('data: [DONE]')).toBe(true);
    expect(await rowsFor(marker)).toHaveLength(1);
  });

  it('a background request retried keeps its id and its one row', async () => {
    const marker = `background ${randomUUID()}`;
    const k = randomUUID();
    const body = { model: 'dev-model', input: marker, background: true };
    const first = await post(gw.url, '/v1/responses', body, k);
    expect(first.status).toBe(202);
    const again = await post(other, '/v1/responses', body, k);
    expect(again.id).toBe(first.id);
    expect(JSON.parse(again.body)).toMatchObject({ id: first.id });
    expect(await rowsFor(marker)).toHaveLength(1);
  });

  it("a retry takes over a request whose gateway died (its lease lapsed), under the same id", async () => {
    const marker = `takeover ${randomUUID()}`;
    const k = randomUUID();
    const body = chat(marker);
    // What a gateway killed mid-request leaves: its processing row, and its claim, no longer renewed.
    const { createHash } = await import('node:crypto');
    const requestId = randomUUID();
    await gw.t.pool.query(
      `INSERT INTO batches (id, created_by, endpoint, completion_window) VALUES ($1, $2, '/v1/chat/completions', '0s')`,
      [requestId, key.userId],
    );
    await gw.t.pool.query(
      `INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, body, created_by, api_key_id, started_at)
       VALUES ($1, $1, 'processing', '/v1/chat/completions', 'dev-model', 'default', $2, $3, $4, now())`,
      [requestId, JSON.stringify(body), key.userId, key.id],
    );
    await gw.t.pool.query(
      `INSERT INTO idempotency_keys (api_key_id, key, body_hash, endpoint, request_id, lease_until, expires_at)
       VALUES ($1, $2, $3, '/v1/chat/completions', $4, now() - interval '1 second', now() + interval '1 day')`,
      [key.id, k, createHash('sha256').update(JSON.stringify(body)).digest('hex'), requestId],
    );
    const retry = await post(other, '/v1/chat/completions', body, k);
    expect({ status: retry.status, id: retry.id }).toEqual({ status: 200, id: `resp_${requestId}` });
    expect((await gw.terminalRow(requestId)).state).toBe('completed');
    expect(await rowsFor(marker)).toHaveLength(1);
  });

  it('a retry of a store: false request is a 409: its answer was not kept, and an empty one would pass for it', async () => {
    const marker = `unstored ${randomUUID()}`;
    const k = randomUUID();
    const body = { model: 'dev-model', input: marker, store: false };
    const first = await post(gw.url, '/v1/responses', body, k);
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body).output).toHaveLength(1);
    await gw.terminalRow(parseResponseId(first.id!));
    const again = await post(gw.url, '/v1/responses', body, k);
    expect(again.status).toBe(409);
    expect(JSON.parse(again.body)).toMatchObject({ error: { code: 'idempotency_answer_not_stored', param: 'store' } });
    expect(again.id).toBe(first.id);
  });

  it('the same key with another body is refused with 409', async () => {
    const k = randomUUID();
    expect((await post(gw.url, '/v1/chat/completions', chat(`one ${k}`), k)).status).toBe(200);
    const reused = await post(other, '/v1/chat/completions', chat(`two ${k}`), k);
    expect(reused.status).toBe(409);
    expect(JSON.parse(reused.body)).toMatchObject({ error: { code: 'idempotency_key_reused', param: 'Idempotency-Key' } });
    expect(await rowsFor(`two ${k}`)).toHaveLength(0);
  });

  it('the official SDK, retrying an idempotent call the gateway answered with a 5xx, ends with one row', async () => {
    const marker = `sdk ${randomUUID()}`;
    const client = gw.client(key.key, { maxRetries: 2 });
    const k = randomUUID();
    // The first answer is a 500 from the upstream: the SDK retries with the same key, and gets it again.
    await expect(
      client.chat.completions.create({ model: 'dev-status-500', messages: [{ role: 'user', content: marker }] }, { idempotencyKey: k, headers: { 'Idempotency-Key': k } }),
    ).rejects.toMatchObject({ status: 500 });
    expect(await rowsFor(marker)).toHaveLength(1);
  });
});
