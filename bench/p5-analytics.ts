// P5 (issue 15): the analytics endpoints with millions of request rows present (bench/lib/seed.ts),
// through a web role of their own on that database. Each query kind is repeated (sequentially,
// the kinds rotating so drift lands on all of them) and its p95 compared with the target:
// /admin/usage over 30 days by model (day and hour buckets: rollups plus pending), a filtered
// /admin/requests page (model+status, user, API key, metadata, a second page by cursor), a
// text search page (`q` of a word in 1 row of 4,999), and the CSV export of every row of the
// last days, streamed, in rows/s, with the web role's resident set sampled while it runs.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import type { Role } from './lib/processes.ts';
import { SEED_MODELS, seedWord } from './lib/seed.ts';
import { quantiles, type Quantiles } from './lib/stats.ts';

export interface P5Options {
  gatewayUrl: string;
  adminToken: string;
  web: Role;
  /** A user name and an API key id the seeded rows belong to. */
  userName: string;
  apiKeyId: string;
  /** Calls of each query kind. */
  calls: number;
  /** Days back the export covers (from now). */
  exportDays: number;
  log: (line: string) => void;
}

export interface P5Result {
  usage_30d_by_model_day: Quantiles;
  usage_30d_by_model_hour: Quantiles;
  filtered_page: Quantiles & { by_filter: Record<string, Quantiles> };
  search_page: Quantiles;
  export: { rows: number; seconds: number; rows_per_s: number; bytes: number; web_peak_rss_mb: number | undefined };
  /** The web role's resident set before P5's queries and after them (before the export). */
  web_rss_mb: { before: number | undefined; after_queries: number | undefined };
}

const DAY = 86_400_000;

export async function runP5(opts: P5Options): Promise<P5Result> {
  const pool = new Pool(opts.gatewayUrl, { connections: 1, keepAliveTimeout: 60_000 });
  const headers = { authorization: `Bearer ${opts.adminToken}` };
  const get = async (path: string): Promise<{ ms: number; body: unknown }> => {
    const t = performance.now();
    const res = await pool.request({ method: 'GET', path, headers });
    const text = await res.body.text();
    const ms = performance.now() - t;
    if (res.statusCode !== 200) throw new Error(`P5: GET ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return { ms, body: JSON.parse(text) };
  };
  try {
    const rssBefore = vmRssMb(opts.web.pid);
    const now = Date.now();
    const from = new Date(now - 30 * DAY).toISOString();
    const to = new Date(now).toISOString();
    // A cursor for the second-page filter: the first page's.
    const first = (await get(`/admin/requests?model=${SEED_MODELS[1]}&limit=50`)).body as { next_cursor: string | null };
    if (!first.next_cursor) throw new Error('P5: the seeded log has no second page');
    const filters: Record<string, () => string> = {
      model_status: () => `/admin/requests?model=${SEED_MODELS[2]}&status=failed&limit=50`,
      user: () => `/admin/requests?user=${encodeURIComponent(opts.userName)}&limit=50`,
      api_key: () => `/admin/requests?api_key_id=${opts.apiKeyId}&service_tier=flex&limit=50`,
      metadata: () => `/admin/requests?metadata.team=t3&model=${SEED_MODELS[0]}&limit=50`,
      second_page: () => `/admin/requests?model=${SEED_MODELS[1]}&limit=50&cursor=${encodeURIComponent(first.next_cursor!)}`,
    };
    let word = 0;
    const kinds: Record<string, () => string> = {
      usage_day: () => `/admin/usage?from=${from}&to=${to}&bucket=day&group_by=model`,
      usage_hour: () => `/admin/usage?from=${from}&to=${to}&bucket=hour&group_by=model`,
      ...Object.fromEntries(Object.entries(filters).map(([k, f]) => [`filter_${k}`, f])),
      // A different word each call (1 row in 4,999 holds each), so no answer is cached.
      search: () => `/admin/requests?q=${seedWord('a', (word++ * 37) % 4999)}&limit=50`,
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
    // Untimed warm-up round, then `calls` rounds, the order rotating.
    const names = Object.keys(kinds);
    for (const n of names) await get(kinds[n]!());
    let checked = false;
    for (let i = 0; i < opts.calls; i++) {
      for (let j = 0; j < names.length; j++) {
        const n = names[(i + j) % names.length]!;
        const r = await get(kinds[n]!());
        times[n]!.push(r.ms);
        if (!checked && n === 'search') {
          // The figure is only meaningful if the search finds its rows.
          const rows = (r.body as { data: unknown[] }).data.length;
          if (rows === 0) throw new Error('P5: the text search found no seeded row');
          checked = true;
        }
      }
    }
    const q = (n: string) => quantiles(times[n]!);
    const filterTimes = Object.keys(filters).flatMap((k) => times[`filter_${k}`]!);
    for (const n of names) opts.log(`P5 ${n}: p50 ${q(n).p50_ms.toFixed(1)} p95 ${q(n).p95_ms.toFixed(1)} ms`);

    const rssAfterQueries = vmRssMb(opts.web.pid);
    // The export: the last `exportDays` days as CSV, counted line by line as it streams.
    const exportFrom = new Date(now - opts.exportDays * DAY).toISOString();
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, vmRssMb(opts.web.pid) ?? 0);
    }, 50);
    const t = performance.now();
    const res = await pool.request({ method: 'GET', path: `/admin/requests/export?format=csv&from=${exportFrom}`, headers });
    if (res.statusCode !== 200) throw new Error(`P5: export answered ${res.statusCode}`);
    let lines = 0;
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let k = chunk.indexOf(10); k !== -1; k = chunk.indexOf(10, k + 1)) lines++;
    }
    const seconds = (performance.now() - t) / 1000;
    clearInterval(sampler);
    const rows = lines - 1; // the header line
    opts.log(`P5 export: ${rows} rows (${(bytes / 2 ** 20).toFixed(0)} MB) in ${seconds.toFixed(1)} s = ${Math.round(rows / seconds)} rows/s, web RSS peak ${peak.toFixed(0)} MB (before P5 ${rssBefore?.toFixed(0)} MB, after its queries ${rssAfterQueries?.toFixed(0)} MB)`);
    return {
      usage_30d_by_model_day: q('usage_day'),
      usage_30d_by_model_hour: q('usage_hour'),
      filtered_page: { ...quantiles(filterTimes), by_filter: Object.fromEntries(Object.keys(filters).map((k) => [k, q(`filter_${k}`)])) },
      search_page: q('search'),
      export: { rows, seconds, rows_per_s: rows / seconds, bytes, web_peak_rss_mb: peak || undefined },
      web_rss_mb: { before: rssBefore, after_queries: rssAfterQueries },
    };
  } finally {
    await pool.close();
  }
}

/** VmRSS (current resident set) of a pid in MB. */
function vmRssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}
