// API keys: list, create (the secret is shown once, here, and kept nowhere), revoke.
'use strict';

(() => {
  const { api, el, settle, status, fmtTime, td, fillRows } = window.volley;
  const table = document.getElementById('keys');
  const form = document.getElementById('create-key');
  const created = document.getElementById('new-key');

  async function revoke(k) {
    if (!window.confirm(`Revoke key ${k.prefix}… of ${k.user ?? 'unknown user'}? Requests with it will fail from now on.`)) return;
    try {
      await api(`/admin/api-keys/${encodeURIComponent(k.id)}`, { method: 'DELETE' });
      await settle(load());
    } catch (err) {
      status(err.message, true);
    }
  }

  function row(k) {
    return [
      td(k.id, 'mono small'),
      td(`${k.prefix}…`, 'mono'),
      td(k.user ?? '–'),
      td(k.name ?? ''),
      td(k.models ? k.models.join(', ') : 'all'),
      td(fmtTime(k.created_at), 'nowrap'),
      td(fmtTime(k.last_used_at), 'nowrap'),
      td(k.revoked_at ? fmtTime(k.revoked_at) : el('button', { type: 'button', class: 'danger', 'data-revoke': k.id, onclick: () => revoke(k) }, 'Revoke')),
    ];
  }

  async function load() {
    const keys = await api('/admin/api-keys');
    fillRows(table, keys.data, row, 'No API keys yet.');
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const models = String(f.get('models') ?? '')
      .split(',')
      .map((m) => m.trim())
      .filter(Boolean);
    const name = String(f.get('name') ?? '').trim();
    const body = { user: String(f.get('user')).trim(), ...(name ? { name } : {}), ...(models.length ? { models } : {}) };
    try {
      const key = await api('/admin/api-keys', { method: 'POST', body });
      created.querySelector('[data-field="user"]').textContent = body.user;
      created.querySelector('[data-field="key"]').textContent = key.key;
      created.hidden = false;
      form.reset();
      await settle(load());
    } catch (err) {
      status(err.message, true);
    }
  });

  settle(load());
})();
