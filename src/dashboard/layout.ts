// The page shell every dashboard page shares, and the sign-in page. Pages are plain HTML
// that a small script per page fills from the admin API; nothing here is user data except
// what goes through `html` (escaped).
import type { Assets } from './assets.ts';
import { html, type SafeHtml } from './html.ts';

export const PAGES = {
  overview: { path: '/dashboard', title: 'Overview' },
  requests: { path: '/dashboard/requests', title: 'Requests' },
  keys: { path: '/dashboard/keys', title: 'API keys' },
  models: { path: '/dashboard/models', title: 'Models' },
} as const;

export type PageName = keyof typeof PAGES;

export interface ShellOptions {
  title: string;
  /** The nav entry shown as current. */
  section: PageName;
  /** The page's own script (an asset name), loaded after app.js. */
  script: string;
  /** Extra stylesheets (asset names) before app.css. */
  styles?: string[];
  /** Scripts (asset names) before app.js. */
  vendorScripts?: string[];
  body: SafeHtml;
}

export function shell(assets: Assets, o: ShellOptions): string {
  const nav = (Object.entries(PAGES) as [PageName, (typeof PAGES)[PageName]][]).map(
    ([name, p]) => html`<a href="${p.path}"${name === o.section ? html` aria-current="page"` : ''}>${p.title}</a>`,
  );
  return document(
    o.title,
    html`${(o.styles ?? []).map((s) => html`<link rel="stylesheet" href="${assets.url(s)}">`)}
<link rel="stylesheet" href="${assets.url('app.css')}">
${(o.vendorScripts ?? []).map((s) => html`<script src="${assets.url(s)}" defer></script>`)}
<script src="${assets.url('app.js')}" defer></script>
<script src="${assets.url(o.script)}" defer></script>`,
    html`<header class="top">
  <a class="brand" href="/dashboard">volley</a>
  <nav>${nav}</nav>
  <form method="post" action="/dashboard/logout" class="signout"><button type="submit" class="link">Sign out</button></form>
</header>
<main data-page="${o.section}">
${o.body}
</main>`,
  );
}

/** The sign-in form; `error` is shown above it (a wrong token). */
export function signInPage(assets: Assets, opts: { error?: string; next?: string }): string {
  return document(
    'Sign in',
    html`<link rel="stylesheet" href="${assets.url('app.css')}">`,
    html`<main class="signin">
  <form method="post" action="/dashboard/login" class="card">
    <h1>volley</h1>
    <p>Sign in with the admin token (<code>ADMIN_TOKEN</code>).</p>
    ${opts.error !== undefined ? html`<p class="error" role="alert">${opts.error}</p>` : ''}
    <label>Admin token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
    ${opts.next !== undefined ? html`<input type="hidden" name="next" value="${opts.next}">` : ''}
    <button type="submit">Sign in</button>
  </form>
</main>`,
  );
}

function document(title: string, head: SafeHtml, body: SafeHtml): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${title} · volley</title>
${head}
</head>
<body>
${body}
</body>
</html>
`.text;
}
