// The overview: /admin/usage over the chosen range, drawn with uPlot, and summed by model
// and by user. Each chart exposes what it drew (data-sums, data-counts: per series, the sum
// and number of its non-empty points) so the browser tests can check it against the data.
'use strict';

(() => {
  const { api, el, settle, fmtInt, fmtPct, td, fillRows } = window.volley;
  const root = document.getElementById('overview');
  const bucket = root.dataset.bucket;
  const step = { minute: 60, hour: 3600, day: 86400 }[bucket];
  const nowS = Math.floor(Date.now() / 1000);
  // Start on a bucket boundary so the first bucket is whole.
  const fromS = Math.floor((nowS - Number(root.dataset.rangeSeconds)) / step) * step;
  const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea'];
  const charts = [];

  const usage = (groupBy) => {
    const q = new URLSearchParams({ from: new Date(fromS * 1000).toISOString(), to: new Date(nowS * 1000).toISOString(), bucket });
    if (groupBy) q.set('group_by', groupBy);
    return api(`/admin/usage?${q}`).then((u) => u.data);
  };

  const errorsOf = (row) => Object.values(row.errors ?? {}).reduce((a, n) => a + n, 0);

  /** Every bucket of the range (empty ones too, so gaps show as zero), plus any the API returned. */
  function timeline(rows) {
    const byStart = new Map(rows.map((r) => [Math.floor(Date.parse(r.start) / 1000), r]));
    const xs = new Set(byStart.keys());
    for (let t = fromS; t <= nowS; t += step) xs.add(t);
    const x = [...xs].sort((a, b) => a - b);
    return { x, at: (f, empty) => x.map((t) => (byStart.has(t) ? f(byStart.get(t)) : empty)) };
  }

  function chart(name, x, series, { sparse = false } = {}) {
    const figure = root.querySelector(`[data-chart="${name}"]`);
    const plot = figure.querySelector('.plot');
    const sums = {};
    const counts = {};
    for (const s of series) {
      const values = s.values.filter((v) => v !== null && v !== undefined);
      sums[s.label] = values.reduce((a, v) => a + v, 0);
      counts[s.label] = values.length;
    }
    figure.dataset.sums = JSON.stringify(sums);
    figure.dataset.counts = JSON.stringify(counts);
    const opts = {
      width: plot.clientWidth,
      height: 200,
      // From zero: a latency line near the top of an auto-ranged axis looks like an alarm.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [{}, { size: 56 }],
      // Labels and colours only: hover values would need a second look to read anyway.
      legend: { live: false, markers: { fill: (_u, i) => COLORS[i - 1] } },
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i],
          width: 2,
          // Percentiles exist only where there were requests: mark each one, as a line
          // between buckets that are far apart would suggest values that were never measured.
          points: sparse ? { show: true, size: 6, fill: COLORS[i] } : { show: false },
        })),
      ],
    };
    const u = new window.uPlot(opts, [x, ...series.map((s) => s.values)], plot);
    charts.push([u, plot]);
  }

  function draw(rows) {
    const { x, at } = timeline(rows);
    chart('requests', x, [
      { label: 'requests', values: at((r) => r.requests, 0) },
      { label: 'errors', values: at(errorsOf, 0) },
    ]);
    chart('tokens', x, [
      { label: 'input', values: at((r) => r.input_tokens, 0) },
      { label: 'output', values: at((r) => r.output_tokens, 0) },
    ]);
    chart('error-rate', x, [{ label: 'error %', values: at((r) => (r.requests ? (100 * errorsOf(r)) / r.requests : null), null) }], { sparse: true });
    chart('latency', x, ['p50', 'p95', 'p99'].map((p) => ({ label: p, values: at((r) => r.latency_ms?.[p] ?? null, null) })), { sparse: true });
    chart('ttft', x, ['p50', 'p95'].map((p) => ({ label: p, values: at((r) => r.ttft_ms?.[p] ?? null, null) })), { sparse: true });
  }

  function totals(rows) {
    const t = { requests: 0, errors: 0, input: 0, output: 0 };
    for (const r of rows) {
      t.requests += r.requests;
      t.errors += errorsOf(r);
      t.input += r.input_tokens ?? 0;
      t.output += r.output_tokens ?? 0;
    }
    return t;
  }

  function kpis(rows) {
    const t = totals(rows);
    const items = [
      ['Requests', fmtInt(t.requests)],
      ['Errors', fmtInt(t.errors)],
      ['Error rate', fmtPct(t.errors, t.requests)],
      ['Input tokens', fmtInt(t.input)],
      ['Output tokens', fmtInt(t.output)],
    ];
    document.getElementById('kpis').replaceChildren(...items.map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v))));
  }

  /** Sums a grouped usage answer per group over the whole range (percentiles do not add up, so none here). */
  function groups(tableId, rows, key) {
    const by = new Map();
    for (const r of rows) {
      const name = r.group?.[key] ?? '(none)';
      if (!by.has(name)) by.set(name, []);
      by.get(name).push(r);
    }
    const items = [...by].map(([name, rs]) => ({ name, ...totals(rs) })).sort((a, b) => b.requests - a.requests);
    fillRows(document.getElementById(tableId), items, (g) => [
      td(g.name),
      td(fmtInt(g.requests), 'num'),
      td(fmtInt(g.errors), 'num'),
      td(fmtPct(g.errors, g.requests), 'num'),
      td(fmtInt(g.input), 'num'),
      td(fmtInt(g.output), 'num'),
    ], 'No requests in this range.');
  }

  settle(
    Promise.all([usage(), usage('model'), usage('user')]).then(([all, byModel, byUser]) => {
      draw(all);
      kpis(all);
      groups('by-model', byModel, 'model');
      groups('by-user', byUser, 'user');
    }),
  );

  window.addEventListener('resize', () => {
    for (const [u, plot] of charts) u.setSize({ width: plot.clientWidth, height: 200 });
  });
})();
