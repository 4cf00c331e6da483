// The dashboard in a real browser against the whole service: sign in through the form, the
// overview's charts and tables drawn from seeded requests, the request log's filters and
// detail view, revoking a key (which then stops working), and managing models. Each page is
// saved as test/artifacts/<page>.png.
import OpenAI from 'openai';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/app.ts';
import { launchBrowser, loaded, openPage, screenshot, signIn, tableText, type WatchedPage } from './browser.ts';
import { seed, XSS, type Seeded } from './seed.ts';

const SLOW = { timeout: 120_000 };
const names = { alice: `alice-${process.pid}`, bob: `bob-${process.pid}` };

let gw: TestGateway;
let browser: Browser;
let data: Seeded;
let watched: WatchedPage;
let page: Page;

beforeAll(async () => {
  gw = await startTestGateway();
  [browser, data] = await Promise.all([launchBrowser(), seed(gw, names)]);
  watched = await openPage(browser);
  page = watched.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

const admin = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${gw.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
};

const sum = (values: (number | null)[]) => values.reduce<number>((a, v) => a + (v ?? 0), 0);

/** What a chart drew, per series: the sum of its points (the page exposes it). */
async function chartSums(chart: string): Promise<Record<string, number>> {
  return JSON.parse((await page.getAttribute(`figure[data-chart="${chart}"]`, 'data-sums'))!) as Record<string, number>;
}

/** Pixels of a chart's canvas in about this colour: its line was drawn. */
async function pixelsOf(chart: string, [r, g, b]: [number, number, number]): Promise<number> {
  return page.evaluate(`(() => {
    const canvas = document.querySelector('figure[data-chart="${chart}"] canvas');
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) {
      if (Math.abs(d[i] - ${r}) < 40 && Math.abs(d[i + 1] - ${g}) < 40 && Math.abs(d[i + 2] - ${b}) < 40 && d[i + 3] > 128) n++;
    }
    return n;
  })()`);
}

/** A by-model or by-user table as name -> requests. */
async function groupCounts(table: string): Promise<Record<string, number>> {
  return Object.fromEntries((await tableText(page, table)).map((r) => [r[0]!, Number(r[1]!.replace(/,/g, ''))]));
}

/** The detail links of the request log's rows, in order. */
async function rowLinks(): Promise<string[]> {
  return page.locator('#requests tbody a').evaluateAll((links) => links.map((a) => a.getAttribute('href') ?? ''));
}

describe('the dashboard in a browser', () => {
  it('signs in through the form: a wrong token shows the error, the right one the overview', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard`);
    await screenshot(page, 'signin');
    await page.fill('input[name="token"]', 'certainly-not-the-admin-token');
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('p.error').textContent()).toBe('That is not the admin token.');
    expect(await page.locator('input[name="token"]').count()).toBe(1);
    await screenshot(page, 'signin-error');

    await signIn(page, gw.url);
    expect(await page.locator('main[data-page="overview"]').count()).toBe(1);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'volley_dashboard')).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
  });

  it('draws the seeded requests on the overview, and sums them by model and by user', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard`);
    await loaded(page);
    expect(await chartSums('requests')).toEqual({ requests: data.ids.length, errors: data.failures });
    type Row = { created_at: string; input_tokens: number | null; output_tokens: number | null };
    const rows = (await admin<{ data: Row[] }>('/admin/requests?limit=200')).data;
    const tokens = { input: sum(rows.map((r) => r.input_tokens)), output: sum(rows.map((r) => r.output_tokens)) };
    expect(tokens.input).toBeGreaterThan(0);
    expect(await chartSums('tokens')).toEqual(tokens);
    // Percentiles in each hour that had requests (the seed's, plus this one, or two if the
    // seed ran across the hour).
    const hours = new Set(rows.map((r) => Math.floor(Date.parse(r.created_at) / 3_600_000))).size;
    expect(hours).toBeGreaterThanOrEqual(1 + data.earlierHours);
    expect(JSON.parse((await page.getAttribute('figure[data-chart="latency"]', 'data-counts'))!)).toEqual({ p50: hours, p95: hours, p99: hours });
    // The lines are on the canvas, in their colours (requests blue, errors red).
    expect(await pixelsOf('requests', [37, 99, 235])).toBeGreaterThan(20);
    expect(await pixelsOf('requests', [220, 38, 38])).toBeGreaterThan(20);
    expect(await pixelsOf('latency', [37, 99, 235])).toBeGreaterThan(5);

    expect(await groupCounts('#by-model')).toEqual(data.byModel);
    expect(await groupCounts('#by-user')).toEqual(data.byUser);
    const failing = (await tableText(page, '#by-model')).find((r) => r[0] === 'dev-status-500');
    expect(failing?.slice(1, 4)).toEqual(['2', '2', '100.0 %']);
    expect(await page.locator('#kpis dd').first().textContent()).toBe(String(data.ids.length));
    await screenshot(page, 'overview');

    // The last hour, by minute: the requests made now, without the earlier hours'.
    await Promise.all([page.waitForURL(/range=1h/), page.click('nav.ranges a:text("Last hour")')]);
    await loaded(page);
    expect(await page.getAttribute('#overview', 'data-bucket')).toBe('minute');
    expect(await chartSums('requests')).toEqual({ requests: data.recent, errors: data.failures });
  });

  it('lists the log, filters it by model and status, and pages it with the cursor', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard/requests`);
    await loaded(page);
    expect(new Set(await rowLinks())).toEqual(new Set(data.ids.map((id) => `/dashboard/requests/${id}`)));
    await screenshot(page, 'requests');

    await page.fill('form.filters input[name="model"]', 'model-b');
    await Promise.all([page.waitForURL(/model=model-b/), page.click('form.filters button[type="submit"]')]);
    await loaded(page);
    const modelB = await tableText(page, '#requests');
    expect(modelB).toHaveLength(data.byModel['model-b']!);
    expect(new Set(modelB.map((r) => r[3]))).toEqual(new Set(['model-b']));

    // The export link carries the same filters, and downloads with the session cookie.
    const csvUrl = new URL((await page.getAttribute('a[data-export="csv"]', 'href'))!, gw.url);
    expect(Object.fromEntries(csvUrl.searchParams)).toEqual({ model: 'model-b', format: 'csv' });
    const csv = await page.request.get(csvUrl.toString());
    expect(csv.status()).toBe(200);
    expect((await csv.text()).trim().split('\n')).toHaveLength(1 + data.byModel['model-b']!);

    await page.fill('form.filters input[name="model"]', '');
    await page.selectOption('form.filters select[name="status"]', 'failed');
    await Promise.all([page.waitForURL(/status=failed/), page.click('form.filters button[type="submit"]')]);
    await loaded(page);
    const failed = await tableText(page, '#requests');
    expect(failed.map((r) => [r[3], r[6], r[7]])).toEqual([
      ['dev-status-500', 'failed', '500'],
      ['dev-status-500', 'failed', '500'],
    ]);

    // Pages of four through "next", newest first, until the last.
    await page.goto(`${gw.url}/dashboard/requests?limit=4`);
    const seen: string[] = [];
    for (;;) {
      await loaded(page);
      const links = await rowLinks();
      expect(links).toHaveLength(Math.min(4, data.ids.length - seen.length));
      seen.push(...links);
      if (seen.length === data.ids.length) break;
      await Promise.all([page.waitForURL(/cursor=/), page.click('#next')]);
    }
    expect(await page.locator('#next').isHidden()).toBe(true);
    expect(new Set(seen)).toEqual(new Set(data.ids.map((id) => `/dashboard/requests/${id}`)));
  });

  it('shows one request with its bodies, timings and metadata, markup as text', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard/requests`);
    await loaded(page);
    await Promise.all([page.waitForURL(`**/dashboard/requests/${data.xssId}`), page.click(`a[href="/dashboard/requests/${data.xssId}"]`)]);
    await loaded(page);
    const request = (await page.locator('[data-body="request"]').textContent())!;
    expect(JSON.parse(request)).toMatchObject({ model: 'model-a', messages: [{ role: 'user', content: `look: ${XSS}` }] });
    expect(await page.locator('[data-body="response"]').textContent()).toContain('chat.completion');
    expect(JSON.parse((await page.locator('[data-body="metadata"]').textContent())!)).toEqual({ team: XSS, run: 'browser' });
    expect(await page.locator('.card', { hasText: 'Timings' }).locator('tr', { hasText: 'Received' }).locator('td').first().textContent()).toMatch(
      /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/,
    );
    // Nothing of it ran: no script set the flag, no image was made of the markup.
    expect(await page.evaluate('window.__xss')).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    await screenshot(page, 'request');

    // A failed one shows its error.
    const failedId = data.ids[data.recent - 1]!;
    await page.goto(`${gw.url}/dashboard/requests/${failedId}`);
    await loaded(page);
    const error = page.locator('.card', { has: page.locator('h2', { hasText: 'Error' }) });
    expect(await error.locator('dd').allTextContents()).toEqual(['server_error', '500', expect.stringContaining('Simulated 500')]);
    await screenshot(page, 'request-failed');
  });

  it('creates a key that works, and revokes it: from then on it gets 401', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard/keys`);
    await loaded(page);
    const users = (await tableText(page, '#keys')).map((r) => r[2]);
    expect(users).toEqual(expect.arrayContaining([names.alice, names.bob]));

    const carol = `carol-${process.pid}`;
    await page.fill('#create-key input[name="user"]', carol);
    await page.fill('#create-key input[name="name"]', 'laptop');
    await page.click('#create-key button[type="submit"]');
    await page.waitForSelector('#new-key:not([hidden])');
    const key = (await page.locator('#new-key [data-field="key"]').textContent())!;
    const client = gw.client(key);
    await client.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'before' }] });

    const row = page.locator('#keys tbody tr', { hasText: carol });
    await row.waitFor();
    // Dismissing the confirmation changes nothing.
    page.once('dialog', (d) => void d.dismiss());
    await row.locator('button[data-revoke]').click();
    await client.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'still' }] });
    expect(await row.locator('button[data-revoke]').count()).toBe(1);

    page.once('dialog', (d) => void d.accept());
    await row.locator('button[data-revoke]').click();
    await expect.poll(() => row.locator('button[data-revoke]').count()).toBe(0);
    expect((await row.locator('td').last().textContent())!).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    const err = await client.chat.completions.create({ model: 'model-a', messages: [{ role: 'user', content: 'after' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    await screenshot(page, 'keys');
  });

  it('manages models: adds, edits and deletes them, as /admin/models then says', SLOW, async () => {
    await page.goto(`${gw.url}/dashboard/models`);
    await loaded(page);
    await page.fill('#model-form input[name="name"]', 'browser-model');
    await page.fill('#model-form input[name="upstream_url"]', gw.upstream.url);
    await page.selectOption('#model-form select[name="api"]', 'chat');
    await page.fill('#model-form input[name="concurrency"]', '3');
    await page.click('#model-form button[type="submit"]');
    await page.waitForSelector('#models [data-edit="browser-model"]');
    const row = (await tableText(page, '#models')).find((r) => r[0] === 'browser-model');
    expect(row?.slice(0, 5)).toEqual(['browser-model', gw.upstream.url, 'chat', '–', '3']);

    await page.click('#models [data-edit="browser-model"]');
    expect(await page.inputValue('#model-form input[name="name"]')).toBe('browser-model');
    await page.fill('#model-form input[name="concurrency"]', '7');
    await page.click('#model-form button[type="submit"]');
    await expect.poll(async () => (await tableText(page, '#models')).find((r) => r[0] === 'browser-model')?.[4]).toBe('7');

    // The model the form added is where its calls go now.
    const answer = await gw.client(data.alice.key).chat.completions.create({ model: 'browser-model', messages: [{ role: 'user', content: 'routed?' }] });
    expect(answer.choices[0]!.message.content).toContain('routed?');

    type Models = { data: { name: string; api: string; concurrency: number | null }[] };
    expect((await admin<Models>('/admin/models')).data).toEqual([expect.objectContaining({ name: 'browser-model', api: 'chat', concurrency: 7 })]);

    await page.fill('#model-form input[name="name"]', 'short-lived');
    await page.fill('#model-form input[name="upstream_url"]', gw.upstream.url);
    await page.click('#model-form button[type="submit"]');
    await page.waitForSelector('#models [data-delete="short-lived"]');
    await screenshot(page, 'models');
    page.once('dialog', (d) => void d.accept());
    await page.click('#models [data-delete="short-lived"]');
    await page.waitForSelector('#models [data-delete="short-lived"]', { state: 'detached' });
    expect((await admin<Models>('/admin/models')).data.map((m) => m.name)).toEqual(['browser-model']);
  });

  it('signs out', SLOW, async () => {
    const other = await openPage(browser);
    await signIn(other.page, gw.url);
    await Promise.all([other.page.waitForURL(`${gw.url}/dashboard`), other.page.click('header .signout button')]);
    expect(await other.page.locator('input[name="token"]').count()).toBe(1);
    expect((await other.page.context().cookies()).find((c) => c.name === 'volley_dashboard')).toBeUndefined();
    await other.page.context().close();
  });

  it('ran every page without a script error or a blocked resource', () => {
    // The one expected console error: the 401 of the wrong sign-in.
    expect(watched.problems.filter((p) => !p.includes('401'))).toEqual([]);
  });
});

