// Signing in to the dashboard over plain HTTP: the form, the cookie and its flags, the admin
// API accepting the cookie (with the CSRF header on changes), signing out, bad bodies, and a
// session issued by one gateway process accepted by another.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SESSION_COOKIE } from '../../../src/gateway/dashboard-session.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.close();
});

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(fields).toString(),
  redirect: 'manual' as const,
});

async function signIn(base = gw.url): Promise<string> {
  const res = await fetch(`${base}/dashboard/login`, form({ token: ADMIN_TOKEN }));
  expect(res.status).toBe(303);
  return cookieOf(res);
}

/** A JSON answer: an envelope or a list. */
const answer = async (res: Response) => (await res.json()) as { error: Record<string, unknown>; data: unknown[] };

/** `name=value` of the session cookie a response sets. */
function cookieOf(res: Response): string {
  const set = res.headers.get('set-cookie') ?? '';
  expect(set.startsWith(`${SESSION_COOKIE}=`)).toBe(true);
  return set.split(';', 1)[0]!;
}

describe('sign-in', () => {
  it('shows the sign-in form without a session, with a password field named token that posts to /dashboard/login', async () => {
    const res = await fetch(`${gw.url}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    const page = await res.text();
    expect(page).toContain('<form method="post" action="/dashboard/login"');
    expect(page).toMatch(/<input type="password" name="token"/);
    expect(page).not.toContain('data-page="overview"');
  });

  it('answers a wrong token with the form again, 401 and an error, and sets no cookie', async () => {
    const res = await fetch(`${gw.url}/dashboard/login`, form({ token: 'not-the-admin-token-at-all' }));
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
    const page = await res.text();
    expect(page).toContain('That is not the admin token.');
    expect(page).toContain('name="token"');
  });

  it('sets an HttpOnly, SameSite=Strict, Path=/ cookie for the right token and redirects (303) to /dashboard', async () => {
    const res = await fetch(`${gw.url}/dashboard/login`, form({ token: ADMIN_TOKEN }));
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard');
    const flags = res.headers.get('set-cookie')!.split(';').map((s) => s.trim());
    expect(flags).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']));
    expect(flags).not.toContain('Secure');
    expect(flags[0]).toMatch(new RegExp(`^${SESSION_COOKIE}=\\d+\\.[A-Za-z0-9_-]{43}$`));
    // The cookie never carries the token itself.
    expect(flags[0]).not.toContain(ADMIN_TOKEN);

    const overview = await fetch(`${gw.url}/dashboard`, { headers: { cookie: cookieOf(res) } });
    expect(await overview.text()).toContain('data-page="overview"');
  });

  it('adds Secure when the browser came over https (X-Forwarded-Proto from a TLS proxy)', async () => {
    const res = await fetch(`${gw.url}/dashboard/login`, {
      ...form({ token: ADMIN_TOKEN }),
      headers: { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8', 'x-forwarded-proto': 'https' },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')!.split(';').map((s) => s.trim())).toContain('Secure');
  });

  it('returns to the page asked for, but never to another origin', async () => {
    const page = await (await fetch(`${gw.url}/dashboard/requests?model=m1`)).text();
    expect(page).toContain('<input type="hidden" name="next" value="/dashboard/requests?model=m1">');
    const back = await fetch(`${gw.url}/dashboard/login`, form({ token: ADMIN_TOKEN, next: '/dashboard/requests?model=m1' }));
    expect(back.headers.get('location')).toBe('/dashboard/requests?model=m1');
    for (const next of ['//evil.example/', 'https://evil.example/dashboard', '/dashboardevil', '/dashboard/logout']) {
      const res = await fetch(`${gw.url}/dashboard/login`, form({ token: ADMIN_TOKEN, next }));
      expect(res.headers.get('location'), next).toBe('/dashboard');
    }
  });

  it('answers bodies that are not the form with an envelope: another type 415, an oversized one 413', async () => {
    const json = await fetch(`${gw.url}/dashboard/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: ADMIN_TOKEN }),
      redirect: 'manual',
    });
    expect(json.status).toBe(415);
    expect((await answer(json)).error.code).toBe('unsupported_media_type');

    const big = await fetch(`${gw.url}/dashboard/login`, form({ token: 'x'.repeat(5000) }));
    expect(big.status).toBe(413);
    expect((await answer(big)).error).toMatchObject({ code: 'request_too_large' });

    const empty = await fetch(`${gw.url}/dashboard/login`, { method: 'POST', redirect: 'manual' });
    expect(empty.status).toBe(415);
  });

  it('reads form bodies on the dashboard only: elsewhere a form is still not JSON (400)', async () => {
    const res = await fetch(`${gw.url}/admin/models`, {
      ...form({ name: 'x', upstream_url: 'http://127.0.0.1:9/v1' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    expect(res.status).toBe(400);
    expect((await answer(res)).error.code).toBe('invalid_json');
  });

  it('signs out: the cookie is cleared', async () => {
    const cookie = await signIn();
    const res = await fetch(`${gw.url}/dashboard/logout`, { method: 'POST', headers: { cookie }, redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard');
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(new RegExp(`^${SESSION_COOKIE}=;`));
    expect(set).toContain('Max-Age=0');
  });
});

describe('the admin API with a session cookie', () => {
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  it('reads with the cookie alone, and refuses a tampered or missing one (401)', async () => {
    const cookie = await signIn();
    expect((await fetch(`${gw.url}/admin/models`, { headers: { cookie } })).status).toBe(200);

    const [name, value] = cookie.split('=') as [string, string];
    const [expiry, mac] = value.split('.') as [string, string];
    const tampered = [
      `${name}=${Number(expiry) + 60}.${mac}`,
      `${name}=${expiry}.${mac.slice(0, -1)}${mac.endsWith('A') ? 'E' : 'A'}`,
      // The same 32 bytes in a non-canonical spelling (the last character's unused bits set).
      `${name}=${expiry}.${mac.slice(0, -1)}${B64URL[B64URL.indexOf(mac.at(-1)!) + 1]}`,
      `${name}=${expiry}`,
      'other=1',
    ];
    for (const c of tampered) {
      const res = await fetch(`${gw.url}/admin/models`, { headers: { cookie: c } });
      expect(res.status, c).toBe(401);
      expect((await answer(res)).error.code).toBe('invalid_admin_token');
      expect(await (await fetch(`${gw.url}/dashboard`, { headers: { cookie: c } })).text()).toContain('name="token"');
    }
  });

  it('refuses a change with the cookie but without x-volley-dashboard: 1 (403), and makes it with the header', async () => {
    const cookie = await signIn();
    const body = JSON.stringify({ name: 'csrf-model', upstream_url: 'http://127.0.0.1:9/v1' });
    const post = (headers: Record<string, string>) =>
      fetch(`${gw.url}/admin/models`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body });

    for (const headers of [{}, { 'x-volley-dashboard': '0' }] as Record<string, string>[]) {
      const refused = await post(headers);
      expect(refused.status).toBe(403);
      expect((await answer(refused)).error).toMatchObject({ code: 'missing_dashboard_header', type: 'permission_error' });
    }
    expect((await answer(await fetch(`${gw.url}/admin/models`, { headers: { cookie } }))).data).toEqual([]);

    expect((await post({ 'x-volley-dashboard': '1' })).status).toBe(201);
    const del = await fetch(`${gw.url}/admin/models/csrf-model`, { method: 'DELETE', headers: { cookie, 'x-volley-dashboard': '1' } });
    expect(del.status).toBe(200);
  });

  it('still takes the bearer token, which needs no dashboard header', async () => {
    const res = await fetch(`${gw.url}/admin/models`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bearer-model', upstream_url: 'http://127.0.0.1:9/v1' }),
    });
    expect(res.status).toBe(201);
  });

  it('accepts a session issued by another gateway process (nothing is stored)', async () => {
    const other = await gw.startWebProcess();
    const cookie = await signIn(other.url);
    expect((await fetch(`${gw.url}/admin/models`, { headers: { cookie } })).status).toBe(200);
    expect(await (await fetch(`${gw.url}/dashboard/keys`, { headers: { cookie } })).text()).toContain('data-page="keys"');
  }, 120_000);
});

describe('pages and assets', () => {
  it('escapes what the URL puts into a page', async () => {
    const cookie = await signIn();
    const evil = '"><script>alert(1)</script>';
    const list = await (await fetch(`${gw.url}/dashboard/requests?model=${encodeURIComponent(evil)}`, { headers: { cookie } })).text();
    expect(list).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(list).not.toContain('<script>alert');
    const one = await (await fetch(`${gw.url}/dashboard/requests/${encodeURIComponent(evil)}`, { headers: { cookie } })).text();
    expect(one).toContain('data-id="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(one).not.toContain('<script>alert');
  });

  it('serves every asset a page names, with its content type, for good under its versioned URL', async () => {
    const cookie = await signIn();
    const page = await (await fetch(`${gw.url}/dashboard`, { headers: { cookie } })).text();
    const urls = [...page.matchAll(/(?:src|href)="(\/dashboard\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(urls.map((u) => u.split('?')[0])).toEqual(
      expect.arrayContaining(['/dashboard/assets/uPlot.iife.min.js', '/dashboard/assets/uPlot.min.css', '/dashboard/assets/app.js', '/dashboard/assets/app.css', '/dashboard/assets/overview.js']),
    );
    for (const url of urls) {
      const res = await fetch(`${gw.url}${url}`);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('content-type'), url).toBe(url.includes('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control'), url).toBe('public, max-age=31536000, immutable');
      const etag = res.headers.get('etag')!;
      expect(etag).toBe(`"${url.split('?v=')[1]}"`);
      expect((await fetch(`${gw.url}${url}`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    }
    const unversioned = await fetch(`${gw.url}/dashboard/assets/app.js`);
    expect(unversioned.headers.get('cache-control')).toBe('no-cache');
    const missing = await fetch(`${gw.url}/dashboard/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect((await answer(missing)).error.code).toBe('not_found');
  });
});
