// Helpers shared by the dashboard's page scripts: plain browser JavaScript, no build step.
// Data from the admin API reaches the page only as text (el() below appends strings as text
// nodes), never as markup, so a prompt holding <script> shows as those characters.
'use strict';

window.volley = (() => {
  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  /** JSON from the admin API with the session cookie; a mutation carries the CSRF header. */
  async function api(path, { method = 'GET', body } = {}) {
    const headers = { accept: 'application/json' };
    if (method !== 'GET') headers['x-volley-dashboard'] = '1';
    const init = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    const data = await res.json().catch(() => null);
    if (res.status === 401) throw new ApiError(401, 'Your session has ended: reload the page to sign in again.');
    if (!res.ok) throw new ApiError(res.status, data?.error?.message ?? `${method} ${path} answered HTTP ${res.status}.`);
    return data;
  }

  /** An element; attributes `on<event>` become listeners, children strings become text. */
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== undefined && c !== null && c !== false) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  /** The page's status line: empty when all is well, red with the message when not. */
  function status(message, isError = false) {
    const line = document.querySelector('main .status');
    if (!line) return;
    line.textContent = message;
    line.classList.toggle('error', isError);
    line.hidden = message === '';
  }

  /**
   * Shows how a page's loading ended: the status line, and `data-loaded` on <main> ("true"
   * or "error"), which the browser tests wait for.
   */
  function settle(promise) {
    const main = document.querySelector('main');
    return promise.then(
      () => {
        status('');
        main.dataset.loaded = 'true';
      },
      (err) => {
        status(err.message, true);
        main.dataset.loaded = 'error';
      },
    );
  }

  const pad = (n) => String(n).padStart(2, '0');

  /** Local time as 2025-01-31 14:05:09 (sortable, unambiguous). */
  function fmtTime(iso) {
    if (!iso) return '–';
    const d = new Date(iso);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }

  const fmtInt = (n) => (n === null || n === undefined ? '–' : Math.round(n).toLocaleString('en-US'));

  function fmtMs(n) {
    if (n === null || n === undefined) return '–';
    return n < 1000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(2)} s`;
  }

  const fmtPct = (part, whole) => (whole ? `${((100 * part) / whole).toFixed(1)} %` : '–');

  /** A table cell; `num` right-aligns it. */
  const td = (content, cls) => el('td', cls ? { class: cls } : {}, content);

  /** A status as a coloured badge. */
  const badge = (text) => el('span', { class: `badge badge-${String(text).replace(/[^a-z_]/g, '')}` }, text);

  /** Replaces a table body's rows; `empty` is shown across the table when there are none. */
  function fillRows(table, items, cells, empty = 'Nothing to show.') {
    const body = table.tBodies[0];
    const columns = table.tHead.rows[0].cells.length;
    if (items.length === 0) {
      body.replaceChildren(el('tr', {}, el('td', { colspan: columns, class: 'empty' }, empty)));
      return;
    }
    body.replaceChildren(...items.map((item) => el('tr', {}, cells(item))));
  }

  return { api, el, status, settle, fmtTime, fmtInt, fmtMs, fmtPct, td, badge, fillRows };
})();
