// `npm run bench`: volley's benchmarks (bench/README.md). Prints a table and writes
// bench/results/latest.json. DATABASE_URL: run on that server (a fresh database, dropped at
// the end); unset: on an embedded PostgreSQL started here, fsync on.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../src/db/embedded.ts';
import { checkpointerLine, openBenchDatabase } from './lib/database.ts';
import { ROOT, spawnRole, vmHwmMb, waitForHttp, type Role } from './lib/processes.ts';
import { round } from './lib/stats.ts';
import { runP1, type P1Result } from './p1-pipeline.ts';
import { runP2Chain, type P2ChainResult } from './p2-chain.ts';
import { runP2, type P2Result } from './p2-gateway.ts';
import { runP2Pair, type P2PairResult } from './p2-pair.ts';
import { runP2Stream, type P2StreamResult } from './p2-stream.ts';
import { runP3, type P3Result } from './p3-wake.ts';
import { runP4At, type P4Result } from './p4-processor.ts';
import { runP5, type P5Result } from './p5-analytics.ts';
import { runP4Growth, runRetentionUnderLoad, type P4GrowthResult, type RetentionResult } from './p6-growth.ts';
import { seedRequests } from './lib/seed.ts';

const env = process.env;
const int = (name: string, fallback: number): number => {
  const v = Number(env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
// Five: with three, one disturbed repetition of a p99 (a neighbour's burst on these shared
// cores) was often two of the three and so the median; full runs of the same code missed
// different targets each time.
const REPS = int('BENCH_REPS', 5);
/** Open-loop warm-up at 500 req/s of each web role P2 and P6 time (bench/README, P2). */
const P2_WARM_MS = int('BENCH_P2_WARM_MS', 15000);
const CHILD_LOG_LEVEL = env.BENCH_LOG_LEVEL ?? 'warn';
/** Comma-separated subset of p1,p2,p2s,p2chain,p2strict,p3,p4,p5,p6,retention (default: all). */
const ONLY = new Set((env.BENCH_ONLY ?? 'p1,p2,p2s,p2chain,p2strict,p3,p4,p5,p6,retention').split(',').map((s) => s.trim()));
/** Rows of the seeded database of P5, P6 and retention. */
const SCALE_ROWS = int('BENCH_SCALE_ROWS', 5_000_000);
/** The seeded rows span this many days; retention keeps the last RETENTION_DAYS of them. */
const SCALE_DAYS = 60;
const RETENTION_DAYS = 30;
const t0 = performance.now();
const log = (line: string): void => {
  process.stderr.write(`[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
};

const database = await openBenchDatabase(log);
const roles: Role[] = [];
let p1: P1Result | undefined;
let p2: P2Result | undefined;
let p2chain: P2ChainResult | undefined;
let p2strict: P2PairResult | undefined;
let p2s: P2StreamResult | undefined;
let p5: P5Result | undefined;
let p6: { p2: P2PairResult; p4: P4GrowthResult; rows: number } | undefined;
let retention: RetentionResult | undefined;
let seeding: Awaited<ReturnType<typeof seedRequests>> | undefined;
let p3: P3Result | undefined;
let p4: P4Result | null = null;
let p4Reason: string | undefined;
const rss: Record<string, number | undefined> = {};
/** This process: the load generator, which also hosts P1's producer and P3's waiters. */
const BENCH_PROCESS = 'bench (load generator; P1 producer, P3 waiters)';
const errors: string[] = [];
const pool = new pg.Pool({ connectionString: database.url, max: 4, application_name: 'bench-check' });

try {
  // The roles as separate processes on the same database.
  const upstreamPort = await freePort();
  const upstream = spawnRole('dev-upstream', 'src/dev-upstream/main.ts', {
    DEV_UPSTREAM_PORT: String(upstreamPort),
    DEV_UPSTREAM_LATENCY_MS: '0',
  });
  roles.push(upstream);
  const upstreamUrl = `http://127.0.0.1:${upstreamPort}/v1`;
  const adminToken = `bench-${randomBytes(16).toString('hex')}`;
  const common = {
    DATABASE_URL: database.url,
    ADMIN_TOKEN: adminToken,
    UPSTREAM_URL: upstreamUrl,
    LOG_LEVEL: CHILD_LOG_LEVEL,
    // The service's tuning knobs pass through, so one lever can be measured against another.
    ...Object.fromEntries(
      Object.entries(env).filter(
        ([k, v]) => v !== undefined && /^(PROCESSOR_|MODEL_CONCURRENCY|DURABILITY$)/.test(k),
      ) as [string, string][],
    ),
    // Profiling hook, e.g. BENCH_CHILD_NODE_OPTIONS=--cpu-prof (profiles land in the repo root).
    ...(env.BENCH_CHILD_NODE_OPTIONS ? { NODE_OPTIONS: env.BENCH_CHILD_NODE_OPTIONS } : {}),
  };
  const worker = spawnRole('worker', 'workers/worker.ts', common);
  roles.push(worker);
  const webPort = await freePort();
  const web = spawnRole('web', 'workers/web.ts', { ...common, PORT: String(webPort), HOST: '127.0.0.1' });
  roles.push(web);
  const gatewayUrl = `http://127.0.0.1:${webPort}`;
  await waitForHttp(`${upstreamUrl}/models`, upstream);
  await waitForHttp(`${gatewayUrl}/readyz`, web);
  const { key } = await createKey(gatewayUrl, adminToken, 'bench');
  log(`roles up: dev upstream :${upstreamPort}, web :${webPort}, worker pid ${worker.pid}`);

  // P1: this process produces, the worker role's process runs the jobs.
  if (ONLY.has('p1')) p1 = await runP1({
    url: database.url,
    reps: REPS,
    pairs: int('BENCH_P1_PAIRS', 8000),
    clients: int('BENCH_CLIENTS', 16),
    insertSeconds: int('BENCH_P1_INSERT_SECONDS', 4),
    log,
  });

  log(`bench process peak RSS after P1: ${vmHwmMb(process.pid)} MB`);
  if (ONLY.has('p2')) p2 = await runP2({
    gatewayUrl,
    upstreamUrl,
    apiKey: key,
    db: pool,
    reps: REPS,
    sequentialCalls: int('BENCH_C1_CALLS', 1000),
    warmMs: P2_WARM_MS,
    rateMs: int('BENCH_R500_MS', 3000),
    stepMs: int('BENCH_STEP_MS', 3000),
    drainLimitMs: int('BENCH_DRAIN_LIMIT_MS', 3000),
    stepP99LimitMs: int('BENCH_STEP_P99_LIMIT_MS', 100),
    rates: (env.BENCH_RATES ?? '500,1000,1500,2000,2500,3000,4000').split(',').map(Number),
    log,
  });
  if (ONLY.has('p2s')) p2s = await runP2Stream({
    gatewayUrl,
    upstreamUrl,
    apiKey: key,
    db: pool,
    reps: REPS,
    calls: int('BENCH_C1_CALLS', 1000),
    log,
  });
  if (ONLY.has('p2chain')) p2chain = await runP2Chain({
    gatewayUrl,
    apiKey: key,
    db: pool,
    reps: REPS,
    turns: 50,
    calls: int('BENCH_CHAIN_CALLS', 300),
    log,
  });
  if (ONLY.has('p2strict')) {
    // A second web role with DURABILITY=strict beside the default (fast) one.
    const strictPort = await freePort();
    const strictWeb = spawnRole('web-strict', 'workers/web.ts', { ...common, PORT: String(strictPort), HOST: '127.0.0.1', DURABILITY: 'strict' });
    roles.push(strictWeb);
    const strictUrl = `http://127.0.0.1:${strictPort}`;
    await waitForHttp(`${strictUrl}/readyz`, strictWeb);
    p2strict = await runP2Pair({
      a: { url: gatewayUrl, apiKey: key, db: pool },
      b: { url: strictUrl, apiKey: key, db: pool },
      upstreamUrl,
      reps: REPS,
      calls: int('BENCH_C1_CALLS', 1000),
      rateMs: int('BENCH_R500_MS', 3000),
      warmMs: 3_000,
      label: 'P2 strict (a fast, b strict)',
      log,
    });
  }
  for (const r of roles) r.peakRssMb();

  log(`bench process peak RSS after P2: ${vmHwmMb(process.pid)} MB`);
  if (ONLY.has('p3')) p3 = await runP3({ url: database.url, reps: REPS, waits: int('BENCH_P3_WAITS', 200), log });

  const p4Options = {
    reps: REPS,
    requests: int('BENCH_P4_REQUESTS', 3000),
    maxSeconds: int('BENCH_P4_MAX_SECONDS', 15),
    log,
  };
  if (ONLY.has('p4')) try {
    p4 = await runP4At(database.url, pool, { ...p4Options, startFlex: () => spawnRole('flex', 'workers/flex.ts', common) });
  } catch (err) {
    p4Reason = `P4 could not run: ${err instanceof Error ? err.message : String(err)}`;
    log(p4Reason);
  }

  // P5, P6 and retention: a second database on the same server with SCALE_ROWS rows, with a
  // worker and a web role of its own beside the first ones (which stay on the empty database).
  if (ONLY.has('p5') || ONLY.has('p6') || ONLY.has('retention')) {
    const seededUrl = await database.sibling('seeded');
    const seededPool = new pg.Pool({ connectionString: seededUrl, max: 4, application_name: 'bench-check-seeded' });
    try {
      const seededCommon = { ...common, DATABASE_URL: seededUrl };
      roles.push(spawnRole('worker-seeded', 'workers/worker.ts', seededCommon));
      const seededPort = await freePort();
      const seededWeb = spawnRole('web-seeded', 'workers/web.ts', { ...seededCommon, PORT: String(seededPort), HOST: '127.0.0.1' });
      roles.push(seededWeb);
      const seededGateway = `http://127.0.0.1:${seededPort}`;
      await waitForHttp(`${seededGateway}/readyz`, seededWeb);
      const owners: { userId: string; apiKeyId: string }[] = [];
      for (let i = 0; i < 10; i++) {
        const k = await createKey(seededGateway, adminToken, `seed-user-${i}`);
        owners.push({ userId: k.user_id, apiKeyId: k.id });
      }
      const seededKey = await createKey(seededGateway, adminToken, 'bench');
      seeding = await seedRequests({ url: seededUrl, rows: SCALE_ROWS, owners, days: SCALE_DAYS, log });
      log(`after the seed: ${await checkpointerLine(seededPool)}`);
      if (ONLY.has('p5')) p5 = await runP5({
        gatewayUrl: seededGateway,
        adminToken,
        web: seededWeb,
        userName: 'seed-user-3',
        apiKeyId: owners[4]!.apiKeyId,
        calls: int('BENCH_P5_CALLS', 40),
        exportDays: int('BENCH_EXPORT_DAYS', 6),
        log,
      });
      if (ONLY.has('p6')) {
        const p2 = await runP2Pair({
          a: { url: gatewayUrl, apiKey: key, db: pool },
          b: { url: seededGateway, apiKey: seededKey.key, db: seededPool },
          upstreamUrl,
          reps: REPS,
          calls: int('BENCH_C1_CALLS', 1000),
          rateMs: int('BENCH_R500_MS', 3000),
          // As long as P2's: the seeded web role has served only P5's reads when P6 starts. With
          // 5 s, c1's first repetition was its slowest relative to the warm empty-side role in
          // nine of ten runs (seeded − empty p99 1.1-6.3 ms, against 0.1-1.9 in repetition 5).
          warmMs: P2_WARM_MS,
          label: 'P6 (a empty, b seeded)',
          log,
        });
        const p4 = await runP4Growth({
          ...p4Options,
          // Twice P4's backlog: a 3,000-request drain lasts ~1.5 s, short enough for one stall
          // to move a pair's ratio by 20-40 % (pairs of 0.81-1.12 in a single run).
          requests: int('BENCH_P6_P4_REQUESTS', 6000),
          empty: { url: database.url, pool },
          seeded: { url: seededUrl, pool: seededPool },
          startFlex: (url) => spawnRole('flex', 'workers/flex.ts', { ...common, DATABASE_URL: url }),
        });
        p6 = { p2, p4, rows: SCALE_ROWS };
      }
      if (ONLY.has('retention')) retention = await runRetentionUnderLoad({
        gateway: { url: seededGateway, apiKey: seededKey.key, db: seededPool, databaseUrl: seededUrl },
        // A p99 ratio moves a lot from one repetition to the next: seven of each.
        reps: Math.max(REPS, 7),
        // 6 s loads (3,000 requests each): a p99 over 1,500 requests is the 15th slowest, so
        // one 20 ms stall in either segment moved the ratio more than retention did.
        rateMs: int('BENCH_RETENTION_MS', 6000),
        retentionDays: RETENTION_DAYS,
        log,
      });
      log(`after P5, P6 and retention: ${await checkpointerLine(seededPool)}`);
    } finally {
      await seededPool.end();
    }
  }
} catch (err) {
  errors.push(err instanceof Error ? (err.stack ?? err.message) : String(err));
  log(`bench failed: ${errors[0]}`);
} finally {
  for (const r of roles) {
    r.peakRssMb();
    await r.stop();
    rss[r.name] = r.maxRssMb;
  }
  if (p4?.flex_rss_mb !== undefined) rss.flex = p4.flex_rss_mb;
  rss[BENCH_PROCESS] = vmHwmMb(process.pid);
  await pool.end();
  const statements = await database.statementReport().catch((err: unknown) => `pg_stat_statements: ${String(err)}`);
  if (statements) log(`statements by total time:\n${statements}`);
  await database.close();
}

const lost = [p1, p2, p2s, p2chain, p2strict, p3, p4, p6?.p2, p6?.p4, retention].reduce((n, x) => n + (x?.lost ?? 0), 0);
const r = (v: number | undefined, d = 2): number | null => (v === undefined || !Number.isFinite(v) ? null : round(v, d));
const rq = (q: { p50_ms: number; p95_ms: number; p99_ms: number }) => ({ p50_ms: r(q.p50_ms), p95_ms: r(q.p95_ms), p99_ms: r(q.p99_ms) });
const rssMb = Object.fromEntries(Object.entries(rss).map(([k, v]) => [k, r(v, 1)]));
const result = {
  p1: p1 && { pairs_per_s: r(p1.pairs_per_s, 0), insert_tps: r(p1.insert_tps, 0), ratio: r(p1.ratio, 3),
    inline: { pairs_per_s: r(p1.inline.pairs_per_s, 0), ratio: r(p1.inline.ratio, 3) }, clients: p1.clients, pairs_per_run: p1.pairs_per_run, lost: p1.lost, runs: p1.runs },
  p2: p2 && {
    c1: { p50_ms: r(p2.c1.p50_ms), p95_ms: r(p2.c1.p95_ms), p99_ms: r(p2.c1.p99_ms), runs: p2.c1.runs },
    r500: { p50_ms: r(p2.r500.p50_ms), p95_ms: r(p2.r500.p95_ms), p99_ms: r(p2.r500.p99_ms), runs: p2.r500.runs },
    max_tracked_rps: p2.max_tracked_rps,
    max_rps_runs: p2.max_rps_runs,
    tracked_requests: p2.tracked,
    lost: p2.lost,
  },
  p2chain: p2chain && { turns: p2chain.turns, added: rq(p2chain.added), runs: p2chain.runs, lost: p2chain.lost },
  p2strict: p2strict && {
    c1: { cost: rq(p2strict.c1.cost), strict_added: rq(p2strict.c1.b_added), fast_added: rq(p2strict.c1.a_added), runs: p2strict.c1.runs },
    r500: { cost: rq(p2strict.r500.cost), strict_added: rq(p2strict.r500.b_added), fast_added: rq(p2strict.r500.a_added), runs: p2strict.r500.runs },
    lost: p2strict.lost,
  },
  p2s: p2s && { added_first_chunk: rq(p2s.added_first_chunk), runs: p2s.runs, lost: p2s.lost },
  seeding,
  p5: p5 && {
    usage_30d_by_model_day: rq(p5.usage_30d_by_model_day),
    usage_30d_by_model_hour: rq(p5.usage_30d_by_model_hour),
    filtered_page: { ...rq(p5.filtered_page), by_filter: p5.filtered_page.by_filter },
    search_page: rq(p5.search_page),
    web_rss_mb: p5.web_rss_mb,
    export: { rows: p5.export.rows, rows_per_s: r(p5.export.rows_per_s, 0), seconds: r(p5.export.seconds, 1), mb: r(p5.export.bytes / 2 ** 20, 0), web_peak_rss_mb: r(p5.export.web_peak_rss_mb, 1) },
  },
  p6: p6 && {
    rows: p6.rows,
    ...Object.fromEntries((['c1', 'r500'] as const).map((m) => [m, {
      empty_added: rq(p6.p2[m].a_added),
      seeded_added: rq(p6.p2[m].b_added),
      latency_ratio: { p50: r(p6.p2[m].latency_ratio.p50, 3), p99: r(p6.p2[m].latency_ratio.p99, 3) },
      runs: p6.p2[m].runs,
    }])),
    p4: { empty_req_per_s: r(p6.p4.empty_req_per_s, 0), seeded_req_per_s: r(p6.p4.seeded_req_per_s, 0), ratio: r(p6.p4.ratio, 3), runs: p6.p4.runs },
    lost: p6.p2.lost + p6.p4.lost,
  } as Record<string, unknown>,
  retention: retention && {
    retention_days: retention.retention_days,
    without: rq(retention.without),
    with: rq(retention.with),
    p99_ratio: r(retention.p99_ratio, 3),
    deleted_rows: retention.deleted_rows,
    deleted_minute_rollups: retention.deleted_minute_rollups,
    deleted_per_s: r(retention.deleted_per_s, 0),
    runs: retention.runs,
    lost: retention.lost,
  },
  p3: p3 && { p50_ms: r(p3.p50_ms), p99_ms: r(p3.p99_ms), from_ack: p3.from_ack, concurrent: p3.concurrent, method: p3.method, runs: p3.runs, lost: p3.lost },
  p4: p4 ? { req_per_s: r(p4.req_per_s, 0), requests_per_run: p4.requests_per_run, runs: p4.runs, lost: p4.lost, unfinished: p4.unfinished } : { req_per_s: null, reason: p4Reason ?? 'not run' },
  rss_mb: rssMb,
  lost,
  machine: {
    cores: os.cpus().length,
    cpu: os.cpus()[0]?.model,
    memory_mb: Math.round(os.totalmem() / 2 ** 20),
    loadavg_at_end: os.loadavg().map((v) => round(v, 2)),
    node: process.version,
    database: database.kind,
    postgres: database.serverVersion,
    postgres_settings: database.settings,
  },
  when: new Date().toISOString(),
  reps: REPS,
  duration_s: round((performance.now() - t0) / 1000, 1),
  errors,
};
const out = path.join(ROOT, 'bench/results/latest.json');
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);

// The table: medians over REPS runs, each compared with its target.
type Row = [string, number | null | undefined, string, boolean | undefined];
const rows: Row[] = [
  ['P1 pipeline pairs/s', result.p1?.pairs_per_s, '', undefined],
  ['P1 single-row INSERT tps', result.p1?.insert_tps, '', undefined],
  ['P1 ratio', result.p1?.ratio, '>= 0.30', cmp(result.p1?.ratio, '>=', 0.3)],
  ['P1 inline-create pairs/s (gateway default)', result.p1?.inline.pairs_per_s, '', undefined],
  ['P1 inline-create ratio', result.p1?.inline.ratio, '', undefined],
  ['P2 c1 added p50 ms', result.p2?.c1.p50_ms, '<= 1', cmp(result.p2?.c1.p50_ms, '<=', 1)],
  ['P2 c1 added p95 ms', result.p2?.c1.p95_ms, '', undefined],
  ['P2 c1 added p99 ms', result.p2?.c1.p99_ms, '<= 3', cmp(result.p2?.c1.p99_ms, '<=', 3)],
  ['P2 r500 added p50 ms', result.p2?.r500.p50_ms, '<= 2', cmp(result.p2?.r500.p50_ms, '<=', 2)],
  ['P2 r500 added p95 ms', result.p2?.r500.p95_ms, '', undefined],
  ['P2 r500 added p99 ms', result.p2?.r500.p99_ms, '<= 10', cmp(result.p2?.r500.p99_ms, '<=', 10)],
  ['P2 max tracked rps', result.p2?.max_tracked_rps, '>= 1500', cmp(result.p2?.max_tracked_rps, '>=', 1500)],
  ['P2 50-turn chain added p50 ms', result.p2chain?.added.p50_ms, '<= 2', cmp(result.p2chain?.added.p50_ms, '<=', 2)],
  ['P2 50-turn chain added p99 ms', result.p2chain?.added.p99_ms, '', undefined],
  ['P2 strict c1 added p50 ms', result.p2strict?.c1.strict_added.p50_ms, '', undefined],
  ['P2 strict c1 added p99 ms', result.p2strict?.c1.strict_added.p99_ms, '', undefined],
  ['P2 strict c1 cost over fast p50 ms', result.p2strict?.c1.cost.p50_ms, '', undefined],
  ['P2 strict r500 added p50 ms', result.p2strict?.r500.strict_added.p50_ms, '', undefined],
  ['P2 strict r500 added p99 ms', result.p2strict?.r500.strict_added.p99_ms, '', undefined],
  ['P2 strict r500 cost over fast p99 ms', result.p2strict?.r500.cost.p99_ms, '', undefined],
  ['P2s stream first chunk added p50 ms', result.p2s?.added_first_chunk.p50_ms, '<= 1', cmp(result.p2s?.added_first_chunk.p50_ms, '<=', 1)],
  ['P2s stream first chunk added p99 ms', result.p2s?.added_first_chunk.p99_ms, '<= 5', cmp(result.p2s?.added_first_chunk.p99_ms, '<=', 5)],
  ['P3 wake p50 ms', result.p3?.p50_ms, '<= 10', cmp(result.p3?.p50_ms, '<=', 10)],
  ['P3 wake p99 ms', result.p3?.p99_ms, '<= 50', cmp(result.p3?.p99_ms, '<=', 50)],
  ['P4 processor req/s', result.p4.req_per_s, '>= 1000', cmp(result.p4.req_per_s, '>=', 1000)],
  [`P5 usage 30 d by model (day) p95 ms, ${SCALE_ROWS} rows`, result.p5?.usage_30d_by_model_day.p95_ms, '<= 100', cmp(result.p5?.usage_30d_by_model_day.p95_ms, '<=', 100)],
  // The figure is the month by model (the dashboard charts 30 days by day); by hour
  // (720 buckets, ~17,000 rollup rows) is shown beside it, not judged.
  ['P5 usage 30 d by model (hour) p95 ms', result.p5?.usage_30d_by_model_hour.p95_ms, '', undefined],
  ['P5 filtered log page p95 ms', result.p5?.filtered_page.p95_ms, '<= 50', cmp(result.p5?.filtered_page.p95_ms, '<=', 50)],
  ['P5 text search page p95 ms', result.p5?.search_page.p95_ms, '<= 500', cmp(result.p5?.search_page.p95_ms, '<=', 500)],
  ['P5 export rows/s', result.p5?.export.rows_per_s, '>= 50000', cmp(result.p5?.export.rows_per_s, '>=', 50_000)],
  ['P5 export web RSS peak MB', result.p5?.export.web_peak_rss_mb, '< 256', cmp(result.p5?.export.web_peak_rss_mb, '<=', 256)],
  ...p6Rows(),
  ['retention: r500 p99 with / without', result.retention?.p99_ratio, '<= 1.20', cmp(result.retention?.p99_ratio, '<=', 1.2)],
  ['retention: rows deleted/s under load', result.retention?.deleted_per_s, '', undefined],
  // The target is for volley's processes; the load generator's own peak is shown, not judged.
  ...Object.entries(rssMb).map(([k, v]): Row =>
    k === BENCH_PROCESS ? [`RSS MB ${k}`, v, '', undefined] : [`RSS MB ${k}`, v, '<= 256', cmp(v, '<=', 256)],
  ),
  ['lost', lost, '= 0', lost === 0],
];
const w0 = Math.max(...rows.map((x) => x[0].length));
process.stdout.write(`\nvolley bench: ${REPS} runs each (medians), ${database.kind} PostgreSQL ${database.serverVersion}, ${result.machine.cores} cores, ${result.duration_s} s\n\n`);
process.stdout.write(`${'metric'.padEnd(w0)}  ${'value'.padStart(9)}  ${'target'.padEnd(8)}  ok\n`);
for (const [name, value, target, ok] of rows) {
  const v = value === null || value === undefined ? 'n/a' : String(value);
  process.stdout.write(`${name.padEnd(w0)}  ${v.padStart(9)}  ${target.padEnd(8)}  ${ok === undefined ? '' : ok ? 'yes' : 'NO'}\n`);
}
process.stdout.write(`\nwritten to ${path.relative(process.cwd(), out)}\n`);
if (errors.length > 0) process.exitCode = 1;
process.exit();

/** P6: each P2 figure with the seeded database over the same figure on the empty one (same run). */
function p6Rows(): Row[] {
  if (!p6) return [];
  const out: Row[] = [];
  for (const m of ['c1', 'r500'] as const) {
    const ratio = p6.p2[m].latency_ratio;
    out.push([`P6 ${m} latency p50 seeded / empty`, round(ratio.p50, 3), '<= 1.15', ratio.p50 <= 1.15]);
    out.push([`P6 ${m} latency p99 seeded / empty`, round(ratio.p99, 3), '<= 1.15', ratio.p99 <= 1.15]);
  }
  out.push(['P6 P4 req/s seeded / empty', round(p6.p4.ratio, 3), '>= 0.85', p6.p4.ratio >= 0.85]);
  return out;
}

function cmp(v: number | null | undefined, op: '<=' | '>=', target: number): boolean | undefined {
  if (v === null || v === undefined) return undefined;
  return op === '<=' ? v <= target : v >= target;
}

/** A user's API key by the admin API: the key, its id and the user's id. */
async function createKey(gatewayUrl: string, adminToken: string, user: string): Promise<{ key: string; id: string; user_id: string }> {
  const res = await fetch(`${gatewayUrl}/admin/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user, name: user }),
  });
  if (!res.ok) throw new Error(`POST /admin/api-keys: ${res.status} ${await res.text()}`);
  return (await res.json()) as { key: string; id: string; user_id: string };
}
