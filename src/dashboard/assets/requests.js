// The request log: the page's own query string (the filter form is a GET form) becomes the
// /admin/requests query, so a filtered view is a link, and "next" is the same link with the
// API's cursor.
'use strict';

(() => {
  const { api, el, settle, fmtTime, fmtInt, fmtMs, td, badge, fillRows } = window.volley;
  const page = new URLSearchParams(location.search);

  /** The admin API's filters from the form's fields (empty ones dropped). */
  function apiQuery() {
    const q = new URLSearchParams();
    for (const [k, v] of page) {
      if (v.trim() === '') continue;
      if (k === 'from' || k === 'to') {
        // datetime-local is the browser's local time; the API takes ISO instants.
        const d = new Date(v);
        if (Number.isNaN(d.getTime())) throw new Error(`"${v}" is not a time.`);
        q.set(k, d.toISOString());
      } else if (k === 'metadata') {
        const eq = v.indexOf('=');
        if (eq <= 0) throw new Error('The metadata filter is key=value.');
        q.set(`metadata.${v.slice(0, eq).trim()}`, v.slice(eq + 1).trim());
      } else {
        q.set(k, v.trim());
      }
    }
    return q;
  }

  const tokens = (r) => (r.input_tokens === null && r.output_tokens === null ? '–' : `${fmtInt(r.input_tokens)} / ${fmtInt(r.output_tokens)}`);

  function tier(r) {
    const served = r.served_service_tier && r.served_service_tier !== r.service_tier ? ` → ${r.served_service_tier}` : '';
    return [r.service_tier + served, r.background ? el('span', { class: 'tag' }, 'background') : null];
  }

  function row(r) {
    const href = `/dashboard/requests/${encodeURIComponent(r.id)}`;
    return [
      td(fmtTime(r.created_at), 'nowrap'),
      // Ids are long and alike at a glance; the tail tells them apart, the link has them whole.
      td(el('a', { href, class: 'mono', title: r.id }, `${r.id.slice(0, 9)}…${r.id.slice(-6)}`), 'nowrap'),
      td(r.user ?? '–', 'nowrap'),
      td(r.model, 'nowrap'),
      td(r.endpoint, 'mono nowrap'),
      td(tier(r), 'nowrap'),
      td(badge(r.status)),
      td(r.http_status ?? '–', 'num'),
      td(fmtMs(r.duration_ms), 'num'),
      td(fmtMs(r.ttft_ms), 'num'),
      td(tokens(r), 'num'),
      // The kind fits the row; the message is in the tooltip and on the request's page.
      r.error ? el('td', { class: 'error-text', title: r.error.message }, r.error.type) : td(''),
    ];
  }

  async function load() {
    const q = apiQuery();
    const exportQuery = new URLSearchParams(q);
    exportQuery.delete('cursor');
    exportQuery.delete('limit');
    for (const a of document.querySelectorAll('[data-export]')) {
      exportQuery.set('format', a.dataset.export);
      a.href = `/admin/requests/export?${exportQuery}`;
    }
    const list = await api(`/admin/requests?${q}`);
    fillRows(document.getElementById('requests'), list.data, row, 'No requests match these filters.');
    const next = document.getElementById('next');
    next.hidden = !list.has_more || !list.next_cursor;
    if (!next.hidden) {
      const p = new URLSearchParams(page);
      p.set('cursor', list.next_cursor);
      next.href = `/dashboard/requests?${p}`;
    }
    const newest = new URLSearchParams(page);
    newest.delete('cursor');
    document.getElementById('newest').href = `/dashboard/requests?${newest}`;
  }

  // Empty fields stay out of the URL, so a filtered view's link shows only its filters.
  const form = document.querySelector('form.filters');
  form.addEventListener('submit', () => {
    for (const field of form.elements) if (field.name && field.value === '') field.disabled = true;
  });
  window.addEventListener('pageshow', () => {
    for (const field of form.elements) field.disabled = false;
  });

  settle(load());
})();
