// Guessing the admin token: past ten wrong tokens a minute from one address, the admin API
// and the dashboard's sign-in refuse that address (429, Retry-After), even with the right
// token; other addresses and valid sessions are not affected. Requests come from two
// loopback addresses (127.0.0.1 and 127.0.0.2) to tell addresses apart.
import { request } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ADMIN_ATTEMPT_LIMITS } from '../../../src/gateway/failed-attempts.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One request from `from` (a loopback address), body sent as given. */
function send(from: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(path, gw.url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, localAddress: from, agent: false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const admin = (from: string, token: string) => send(from, 'GET', '/admin/api-keys', { authorization: `Bearer ${token}` });
const signIn = (from: string, token: string) =>
  send(from, 'POST', '/dashboard/login', { 'content-type': 'application/x-www-form-urlencoded' }, new URLSearchParams({ token }).toString());

it('refuses an address that sent ten wrong tokens, with the right token too, and no other address', async () => {
  expect(ADMIN_ATTEMPT_LIMITS.max).toBe(10);
  // A session signed in before the attack.
  const before = await signIn('127.0.0.1', ADMIN_TOKEN);
  expect(before.status).toBe(303);
  const cookie = String(before.headers['set-cookie']).split(';', 1)[0]!;

  // Five wrong tokens at the API, five at the form: all ten are answered as wrong.
  for (let i = 0; i < 5; i++) {
    expect((await admin('127.0.0.1', `guess-${i}-of-the-admin-token`)).status).toBe(401);
    expect((await signIn('127.0.0.1', `guess-${i}-at-the-form`)).status).toBe(401);
  }

  const refused = await admin('127.0.0.1', ADMIN_TOKEN);
  expect(refused.status).toBe(429);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
  expect(JSON.parse(refused.body)).toMatchObject({ error: { type: 'rate_limit_error', code: 'too_many_failed_attempts' } });
  expect(refused.body).not.toContain(ADMIN_TOKEN);

  const form = await signIn('127.0.0.1', ADMIN_TOKEN);
  expect(form.status).toBe(429);
  expect(form.headers['set-cookie']).toBeUndefined();
  expect(Number(form.headers['retry-after'])).toBeGreaterThan(0);
  expect(form.body).toContain('Too many wrong tokens from this address.');
  expect(form.body).toContain('name="token"');

  // Another address is not affected; neither is a session the attacker cannot forge.
  expect((await admin('127.0.0.2', ADMIN_TOKEN)).status).toBe(200);
  expect((await signIn('127.0.0.2', ADMIN_TOKEN)).status).toBe(303);
  const withSession = await send('127.0.0.1', 'GET', '/admin/api-keys', { cookie });
  expect(withSession.status).toBe(200);
});
