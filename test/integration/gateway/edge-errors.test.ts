// Every error volley answers is the OpenAI envelope, from every layer (DESIGN 13): the
// router, the HTTP parser, a closing server, a database that went away, /metrics' token.
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/app.ts';

const METRICS_TOKEN = 'metrics-token-0123456789';
let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ env: { METRICS_TOKEN } });
});
afterAll(async () => {
  await gw?.close();
});

function expectEnvelope(body: unknown, fields: Record<string, unknown> = {}) {
  expect(Object.keys(body as object)).toEqual(['error']);
  const error = (body as { error: Record<string, unknown> }).error;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(error).toMatchObject(fields);
}

/** Sends raw bytes and returns what the server wrote back before closing. */
function raw(bytes: string): Promise<string> {
  const { port } = new URL(gw.url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(bytes));
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

const bodyOf = (response: string) => JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));

describe('errors outside the routes', () => {
  it('answers a 5,000-character id with the 404 envelope, not the router own body', async () => {
    const key = await gw.createKey();
    const res = await fetch(`${gw.url}/v1/responses/${'x'.repeat(5_000)}`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(res.status).toBe(404);
    expectEnvelope(await res.json(), { type: 'not_found_error' });
  });

  it('answers a malformed URL with the 400 envelope', async () => {
    const res = await fetch(`${gw.url}/v1/responses/%E0%A4%A`);
    expect(res.status).toBe(400);
    expectEnvelope(await res.json(), { type: 'invalid_request_error' });
  });

  it('answers a malformed HTTP request with the 400 envelope', async () => {
    const response = await raw('THIS IS NOT HTTP\r\n\r\n');
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expectEnvelope(bodyOf(response), { code: 'invalid_http_request' });
  });

  it('answers headers that are too large with the 431 envelope', async () => {
    const response = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(response).toMatch(/^HTTP\/1\.1 431 /);
    expectEnvelope(bodyOf(response));
  });
});

describe('METRICS_TOKEN', () => {
  it('guards /metrics: 401 envelope without it or with a wrong one, the text with it', async () => {
    const none = await fetch(`${gw.url}/metrics`);
    expect(none.status).toBe(401);
    expectEnvelope(await none.json(), { type: 'authentication_error' });
    expect((await fetch(`${gw.url}/metrics`, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    const ok = await fetch(`${gw.url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('volley_http_requests_total');
  });
});

describe('the database going away', () => {
  it('answers 503 with Retry-After and the envelope, and serves again once it is back', async () => {
    const key = await gw.createKey();
    const chat = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'dev-model', messages: [{ role: 'user', content: 'while down' }] }),
      });
    // From the server's admin database: a database cannot close itself to connections.
    const admin = new pg.Client(inject('adminUrl'));
    await admin.connect();
    // No new connections, and every current one of the service's cut, as a server restart would.
    await admin.query(`ALTER DATABASE ${gw.t.name} ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [gw.t.name]);
    try {
      const down = await chat();
      expect(down.status).toBe(503);
      expect(down.headers.get('retry-after')).toBe('1');
      expectEnvelope(await down.json());
    } finally {
      await admin.query(`ALTER DATABASE ${gw.t.name} ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    const up = await chat();
    expect(up.status).toBe(200);
  });
});
