// One request: summary, timings, tokens, error, metadata and both bodies, pretty-printed
// when they are JSON. Every value is set as text.
'use strict';

(() => {
  const { api, el, settle, fmtTime, fmtInt, fmtMs, badge } = window.volley;
  const root = document.getElementById('request');

  /** A link to the request log filtered by this value. */
  const logLink = (filter, value) => el('a', { href: `/dashboard/requests?${new URLSearchParams({ [filter]: value })}` }, value);
  const section = (title, ...content) => el('section', { class: 'card' }, el('h2', {}, title), ...content);
  const list = (pairs) =>
    el('dl', { class: 'pairs' }, pairs.filter(([, v]) => v !== undefined).map(([k, v]) => [el('dt', {}, k), el('dd', {}, v ?? '–')]));

  /** A body as the API gives it: parsed JSON, a string that was not JSON, or null (not stored). */
  function body(name, value) {
    if (value === null || value === undefined) return el('p', { class: 'muted', 'data-body': name }, 'Not stored (store: false, or not recorded yet).');
    const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
    return el('pre', { class: 'body', 'data-body': name }, text);
  }

  function timings(r) {
    const t = r.timings ?? {};
    const start = t.received_at ? Date.parse(t.received_at) : null;
    const steps = [
      ['Received', t.received_at],
      ['Upstream started', t.upstream_started_at],
      ['First byte', t.first_byte_at],
      ['Finished', t.finished_at],
      ['Completed (stored)', t.completed_at],
    ];
    const rows = steps.map(([name, at]) =>
      el('tr', {}, el('th', {}, name), el('td', {}, fmtTime(at)), el('td', { class: 'num' }, at && start !== null ? `+${fmtMs(Date.parse(at) - start)}` : '')),
    );
    return [
      el('table', { class: 'data compact' }, el('tbody', {}, rows)),
      list([
        ['Duration', fmtMs(r.duration_ms)],
        ['Time to first token', fmtMs(r.ttft_ms)],
        ['Queue delay', fmtMs(r.queue_delay_ms)],
      ]),
    ];
  }

  function render(r) {
    const tier = r.served_service_tier && r.served_service_tier !== r.service_tier ? `${r.service_tier} → ${r.served_service_tier}` : r.service_tier;
    root.replaceChildren(
      el(
        'div',
        { class: 'detail-grid' },
        section(
          'Summary',
          list([
            ['Status', badge(r.status)],
            ['HTTP status', r.http_status],
            ['Created', fmtTime(r.created_at)],
            ['Endpoint', r.endpoint],
            ['Model', r.model],
            ['Upstream model', r.upstream_model],
            ['Service tier', tier],
            ['Background', r.background ? 'yes' : 'no'],
            ['User', r.user && logLink('user', r.user)],
            ['API key', r.api_key_id && logLink('api_key_id', r.api_key_id)],
            ['End user', r.end_user],
            ['Finish reason', r.finish_reason],
          ]),
        ),
        section('Timings', timings(r)),
        section(
          'Tokens',
          list([
            ['Input', fmtInt(r.input_tokens)],
            ['Output', fmtInt(r.output_tokens)],
            ['Cached', fmtInt(r.cached_tokens)],
            ['Reasoning', fmtInt(r.reasoning_tokens)],
            ['Total', fmtInt(r.total_tokens)],
          ]),
        ),
        r.error
          ? section('Error', list([['Type', r.error.type], ['Code', r.error.code], ['Message', r.error.message]]))
          : null,
        section('Metadata', r.metadata ? el('pre', { class: 'body', 'data-body': 'metadata' }, JSON.stringify(r.metadata, null, 2)) : el('p', { class: 'muted' }, 'None.')),
      ),
      section('Request body', body('request', r.request_body)),
      section('Response body', body('response', r.response_body)),
    );
  }

  settle(api(`/admin/requests/${encodeURIComponent(root.dataset.id)}`).then(render));
})();
