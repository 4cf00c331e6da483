// The dashboard's browser tests drive the system Chromium (installed by .ci/run when missing)
// through playwright-core: no browser download, and it runs offline like the dashboard.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { ADMIN_TOKEN } from '../helpers/app.ts';

const ARTIFACTS = path.resolve(import.meta.dirname, '../artifacts');

export async function launchBrowser(): Promise<Browser> {
  // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
}

export interface WatchedPage {
  page: Page;
  /** Script errors and console errors (a CSP violation is one) seen so far. */
  problems: string[];
}

/** A page in a fresh context (its own cookies) that records what went wrong in it. */
export async function openPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console: ${msg.text()}`);
  });
  return { page, problems };
}

/** Signs in through the form, as a person would, and waits for the overview. */
export async function signIn(page: Page, baseUrl: string, token = ADMIN_TOKEN): Promise<void> {
  await page.goto(`${baseUrl}/dashboard`);
  await page.fill('input[name="token"]', token);
  await Promise.all([page.waitForURL(`${baseUrl}/dashboard`), page.click('button[type="submit"]')]);
  await loaded(page);
}

/** Waits until the page's script has finished loading its data, and that it did without an error. */
export async function loaded(page: Page): Promise<void> {
  await page.waitForSelector('main[data-loaded]');
  const state = await page.getAttribute('main', 'data-loaded');
  if (state !== 'true') expect.fail(`the page did not load: ${await page.locator('main .status').textContent()}`);
}

/** A full-page screenshot in test/artifacts/<name>.png, to look at. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The text of each cell of a table's body, row by row. */
export async function tableText(page: Page, selector: string): Promise<string[][]> {
  const rows = page.locator(`${selector} tbody tr`);
  const out: string[][] = [];
  for (let i = 0; i < (await rows.count()); i++) out.push((await rows.nth(i).locator('td').allTextContents()).map((s) => s.trim()));
  return out;
}
