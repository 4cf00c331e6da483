// The dashboard's pages as HTML shells: headings, forms and empty tables that the page's
// script fills from the admin API. What comes from the request (filter values, an id) is
// rendered through `html`, escaped.
import type { Assets } from './assets.ts';
import { html, type SafeHtml } from './html.ts';
import { shell } from './layout.ts';

/** The overview's time ranges and the bucket each is charted in (issue 15). */
export const RANGES = {
  '1h': { label: 'Last hour', seconds: 3600, bucket: 'minute' },
  '24h': { label: '24 h', seconds: 86_400, bucket: 'hour' },
  '7d': { label: '7 d', seconds: 7 * 86_400, bucket: 'hour' },
  '30d': { label: '30 d', seconds: 30 * 86_400, bucket: 'day' },
} as const;
export type RangeName = keyof typeof RANGES;

export function rangeName(value: unknown): RangeName {
  return typeof value === 'string' && Object.hasOwn(RANGES, value) ? (value as RangeName) : '24h';
}

const CHARTS = [
  ['requests', 'Requests and errors'],
  ['tokens', 'Tokens'],
  ['error-rate', 'Error rate (%)'],
  ['latency', 'Latency (ms)'],
  ['ttft', 'Time to first token (ms)'],
] as const;

export function overviewPage(assets: Assets, range: RangeName): string {
  const r = RANGES[range];
  const links = (Object.entries(RANGES) as [RangeName, (typeof RANGES)[RangeName]][]).map(
    ([name, v]) => html`<a href="/dashboard?range=${name}"${name === range ? html` aria-current="true"` : ''}>${v.label}</a>`,
  );
  const groupTable = (id: string, first: string) => html`<table id="${id}" class="data">
  <thead><tr><th>${first}</th><th class="num">Requests</th><th class="num">Errors</th><th class="num">Error rate</th><th class="num">Input tokens</th><th class="num">Output tokens</th></tr></thead>
  <tbody></tbody>
</table>`;
  return shell(assets, {
    title: 'Overview',
    section: 'overview',
    script: 'overview.js',
    styles: ['uPlot.min.css'],
    vendorScripts: ['uPlot.iife.min.js'],
    body: html`<div class="bar"><h1>Overview</h1><nav class="ranges" aria-label="Time range">${links}</nav></div>
<section id="overview" data-range-seconds="${r.seconds}" data-bucket="${r.bucket}">
  <p class="status" role="status">Loading…</p>
  <dl class="kpis" id="kpis"></dl>
  <div class="charts">
    ${CHARTS.map(([name, title]) => html`<figure class="chart" data-chart="${name}"><figcaption>${title}</figcaption><div class="plot"></div></figure>`)}
  </div>
  <div class="groups">
    <section><h2>By model</h2>${groupTable('by-model', 'Model')}</section>
    <section><h2>By user</h2>${groupTable('by-user', 'User')}</section>
  </div>
</section>`,
  });
}

export interface FilterChoices {
  endpoints: readonly string[];
  serviceTiers: readonly string[];
}

const STATUSES = ['completed', 'failed', 'cancelled', 'queued', 'in_progress'];

type Filter = { name: string; label: string; type: 'text' | 'number' | 'datetime-local'; placeholder?: string } | { name: string; label: string; options: readonly string[] };

function filters(c: FilterChoices): Filter[] {
  return [
    { name: 'from', label: 'From', type: 'datetime-local' },
    { name: 'to', label: 'To', type: 'datetime-local' },
    { name: 'user', label: 'User', type: 'text' },
    { name: 'api_key_id', label: 'API key id', type: 'text' },
    { name: 'model', label: 'Model', type: 'text' },
    { name: 'endpoint', label: 'Endpoint', options: c.endpoints },
    { name: 'service_tier', label: 'Service tier', options: c.serviceTiers },
    { name: 'status', label: 'Status', options: STATUSES },
    { name: 'http_status', label: 'HTTP status', type: 'number' },
    { name: 'min_duration_ms', label: 'Min duration (ms)', type: 'number' },
    { name: 'metadata', label: 'Metadata', type: 'text', placeholder: 'key=value' },
    { name: 'q', label: 'Search bodies', type: 'text', placeholder: 'text in a prompt or answer' },
  ];
}

/** The request log: a GET form of the admin API's filters, so a filtered view is a link. */
export function requestsPage(assets: Assets, query: Record<string, unknown>, choices: FilterChoices): string {
  const value = (name: string) => (typeof query[name] === 'string' ? (query[name] as string).slice(0, 500) : '');
  const fields = filters(choices).map((f) => {
    const v = value(f.name);
    const control: SafeHtml =
      'options' in f
        ? html`<select name="${f.name}"><option value="">any</option>${f.options.map(
            (o) => html`<option${o === v ? html` selected` : ''}>${o}</option>`,
          )}</select>`
        : html`<input name="${f.name}" type="${f.type}" value="${v}"${f.placeholder ? html` placeholder="${f.placeholder}"` : ''}${
            f.type === 'number' ? html` min="0" step="1"` : ''
          }>`;
    return html`<label>${f.label} ${control}</label>`;
  });
  return shell(assets, {
    title: 'Requests',
    section: 'requests',
    script: 'requests.js',
    body: html`<div class="bar"><h1>Requests</h1>
  <p class="exports">Export: <a data-export="csv" href="/admin/requests/export?format=csv">CSV</a> · <a data-export="jsonl" href="/admin/requests/export?format=jsonl">JSONL</a></p></div>
<form class="filters card" method="get" action="/dashboard/requests">
  ${fields}
  <div class="buttons"><button type="submit">Apply</button> <a href="/dashboard/requests">Reset</a></div>
</form>
<p class="status" role="status">Loading…</p>
<div class="scroll"><table id="requests" class="data">
  <thead><tr><th>Time</th><th>ID</th><th>User</th><th>Model</th><th>Endpoint</th><th>Tier</th><th>Status</th><th class="num">HTTP</th><th class="num">Duration</th><th class="num">TTFT</th><th class="num">Tokens in / out</th><th>Error</th></tr></thead>
  <tbody></tbody>
</table></div>
<nav class="pager"><a id="newest" href="/dashboard/requests">Newest</a> <a id="next" href="#" hidden>Next page →</a></nav>`,
  });
}

/** One request: its id goes into the page (escaped) and the script fetches the rest. */
export function requestPage(assets: Assets, id: string): string {
  return shell(assets, {
    title: id,
    section: 'requests',
    script: 'request.js',
    body: html`<p class="back"><a href="/dashboard/requests">← Requests</a></p>
<h1 class="mono">${id}</h1>
<p class="status" role="status">Loading…</p>
<div id="request" data-id="${id}"></div>`,
  });
}

export function keysPage(assets: Assets): string {
  return shell(assets, {
    title: 'API keys',
    section: 'keys',
    script: 'keys.js',
    body: html`<h1>API keys</h1>
<form id="create-key" class="card inline">
  <label>User <input name="user" required maxlength="200"></label>
  <label>Name <input name="name" maxlength="200"></label>
  <label>Models <input name="models" placeholder="all (or a, b, c)"></label>
  <button type="submit">Create key</button>
</form>
<div id="new-key" class="notice" hidden>
  <p>The new key for <strong data-field="user"></strong>. Copy it now: it is shown only once.</p>
  <p><code data-field="key"></code></p>
</div>
<p class="status" role="status">Loading…</p>
<table id="keys" class="data">
  <thead><tr><th>ID</th><th>Prefix</th><th>User</th><th>Name</th><th>Models</th><th>Created</th><th>Last used</th><th>Revoked</th></tr></thead>
  <tbody></tbody>
</table>`,
  });
}

export function modelsPage(assets: Assets, apis: readonly string[]): string {
  return shell(assets, {
    title: 'Models',
    section: 'models',
    script: 'models.js',
    body: html`<h1>Models</h1>
<form id="model-form" class="card inline">
  <label>Name <input name="name" required maxlength="200"></label>
  <label>Upstream URL <input name="upstream_url" type="url" required placeholder="http://vllm:8000/v1"></label>
  <label>API <select name="api">${apis.map((a) => html`<option>${a}</option>`)}</select></label>
  <label>Key variable <input name="upstream_api_key_env" placeholder="none"></label>
  <label>Concurrency <input name="concurrency" type="number" min="1" step="1" placeholder="default"></label>
  <button type="submit">Add model</button> <button type="button" class="link" data-action="cancel" hidden>Cancel</button>
</form>
<p class="status" role="status">Loading…</p>
<table id="models" class="data">
  <thead><tr><th>Name</th><th>Upstream URL</th><th>API</th><th>Key variable</th><th class="num">Concurrency</th><th>Updated</th><th></th></tr></thead>
  <tbody></tbody>
</table>`,
  });
}
