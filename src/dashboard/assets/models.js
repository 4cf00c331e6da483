// Models (DESIGN 10): list, add, edit (PATCH) and delete through /admin/models.
'use strict';

(() => {
  const { api, el, settle, status, fmtTime, td, fillRows } = window.volley;
  const table = document.getElementById('models');
  const form = document.getElementById('model-form');
  const submit = form.querySelector('button[type="submit"]');
  const cancel = form.querySelector('[data-action="cancel"]');
  let editing = null;

  function edit(m) {
    editing = m.name;
    form.elements.name.value = m.name;
    form.elements.name.readOnly = true;
    form.elements.upstream_url.value = m.upstream_url;
    form.elements.api.value = m.api;
    form.elements.upstream_api_key_env.value = m.upstream_api_key_env ?? '';
    form.elements.concurrency.value = m.concurrency ?? '';
    submit.textContent = `Save ${m.name}`;
    cancel.hidden = false;
    form.elements.upstream_url.focus();
  }

  function stopEditing() {
    editing = null;
    form.reset();
    form.elements.name.readOnly = false;
    submit.textContent = 'Add model';
    cancel.hidden = true;
  }

  async function remove(m) {
    if (!window.confirm(`Delete the model ${m.name}? Its requests go to the default upstream afterwards.`)) return;
    try {
      await api(`/admin/models/${encodeURIComponent(m.name)}`, { method: 'DELETE' });
      if (editing === m.name) stopEditing();
      await settle(load());
    } catch (err) {
      status(err.message, true);
    }
  }

  function row(m) {
    return [
      td(m.name),
      td(m.upstream_url, 'mono'),
      td(m.api),
      td(m.upstream_api_key_env ?? '–', 'mono'),
      td(m.concurrency ?? 'default', 'num'),
      td(fmtTime(m.updated_at), 'nowrap'),
      td([
        el('button', { type: 'button', class: 'link', 'data-edit': m.name, onclick: () => edit(m) }, 'Edit'),
        ' ',
        el('button', { type: 'button', class: 'link danger', 'data-delete': m.name, onclick: () => remove(m) }, 'Delete'),
      ], 'nowrap'),
    ];
  }

  async function load() {
    const models = await api('/admin/models');
    fillRows(table, models.data, row, 'No models yet: every model name goes to UPSTREAM_URL.');
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = form.elements;
    const fields = {
      upstream_url: f.upstream_url.value.trim(),
      api: f.api.value,
      upstream_api_key_env: f.upstream_api_key_env.value.trim() || null,
      concurrency: f.concurrency.value === '' ? null : Number(f.concurrency.value),
    };
    try {
      if (editing) {
        await api(`/admin/models/${encodeURIComponent(editing)}`, { method: 'PATCH', body: fields });
      } else {
        await api('/admin/models', { method: 'POST', body: { name: f.name.value.trim(), ...fields } });
      }
      stopEditing();
      await settle(load());
    } catch (err) {
      status(err.message, true);
    }
  });
  cancel.addEventListener('click', stopEditing);

  settle(load());
})();
