// `npm run chaos`: volley's roles as separate processes on a PostgreSQL the harness can stop,
// under a steady mixed load, through a list of faults, each repeated; a table per fault on
// stdout and chaos/results/latest.json. Always exits 0: it is a report (see README.md).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { z } from 'zod';
import { freePort } from '../src/db/embedded.ts';
import { PASSED_THROUGH, readChaosConfig, type ChaosConfig } from './config.ts';
import { openChaosDatabase, type ChaosDatabase } from './database.ts';
import { FAULTS, FAULT_NAMES, type FaultStep } from './faults.ts';
import { startLoad } from './load.ts';
import { faultTable, grandTotal, judge, rule, summarize, tableHeader, type FaultSummary } from './report.ts';
import { ROOT, RoleSet, sleep } from './roles.ts';
import { runSegment, type RunContext } from './segment.ts';
import { startChaosUpstream, type ChaosUpstream } from './upstream.ts';

const RESULTS = path.join(ROOT, 'chaos/results');
const MODEL = 'chaos-model';
const started = Date.now();
const log = (line: string): void => {
  process.stderr.write(`chaos [${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s] ${line}\n`);
};

let cfg: ChaosConfig;
let steps: FaultStep[];
try {
  cfg = readChaosConfig(process.env);
  const unknown = cfg.faults.filter((f) => !FAULT_NAMES.includes(f));
  if (unknown.length > 0) throw new Error(`CHAOS_FAULTS: unknown ${unknown.join(', ')} (known: ${FAULT_NAMES.join(', ')})`);
  steps = cfg.faults.length > 0 ? cfg.faults.map((f) => FAULTS.find((s) => s.name === f)!) : [...FAULTS];
} catch (err) {
  process.stderr.write(`chaos: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
}

const summaries: FaultSummary[] = [];
let db: ChaosDatabase | undefined;
let upstream: ChaosUpstream | undefined;
let roles: RoleSet | undefined;
let pool: pg.Pool | undefined;
let boss: PgBoss | undefined;
let peakRssMb = 0;
const rssTimer = setInterval(() => (peakRssMb = Math.max(peakRssMb, process.memoryUsage().rss / 2 ** 20)), 1_000);

async function cleanup(interrupted = false): Promise<void> {
  clearInterval(rssTimer);
  await roles?.stopAll(interrupted ? 'SIGKILL' : 'SIGTERM').catch(() => {});
  await boss?.stop({ graceful: false, timeout: 2_000 }).catch(() => {});
  await pool?.end().catch(() => {});
  await upstream?.close().catch(() => {});
  await db?.close().catch(() => {});
}

function writeResults(status: 'running' | 'complete' | 'interrupted' | 'error', error?: string): void {
  const vmHwm = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  const ran = summaries.filter((s) => s.skipped === undefined);
  const json = {
    status,
    ...(error !== undefined ? { error } : {}),
    started_at: new Date(started).toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
    database: db?.kind,
    durability: process.env.DURABILITY ?? '(unset)',
    config: cfg,
    harness_peak_rss_mb: Math.round(vmHwm ? Number(vmHwm[1]) / 1024 : peakRssMb),
    pass: ran.length > 0 && ran.every((s) => s.pass),
    faults: summaries.map((s) => ({
      fault: s.fault,
      summary: s.summary,
      result: s.skipped !== undefined ? 'SKIP' : s.pass ? 'PASS' : 'FAIL',
      ...(s.skipped !== undefined ? { skipped: s.skipped } : {}),
      totals: s.totals,
      repetitions: s.repetitions.map((r) => ({ ...r.segment, pass: r.verdict.pass, failures: r.verdict.failures })),
    })),
  };
  writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify(json, null, 2)}\n`);
}

function printTable(): void {
  const out = [tableHeader(), ...summaries.map(faultTable), rule(), grandTotal(summaries)];
  process.stdout.write(`\n${out.join('\n')}\n\n`);
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  log('interrupted: stopping the roles and the database');
  writeResults('interrupted');
  printTable();
  void cleanup(true).finally(() => process.exit(130));
});

try {
  writeFileSync(path.join(RESULTS, 'roles.log'), '');
  db = await openChaosDatabase(log);
  upstream = await startChaosUpstream({ latencyMs: cfg.upstreamLatencyMs, chunkDelayMs: cfg.upstreamChunkMs });
  const [webPort, workerMetrics, flexMetrics] = [await freePort(), await freePort(), await freePort()];
  const adminToken = `chaos-${randomBytes(16).toString('hex')}`;
  const passed = Object.fromEntries(Object.entries(process.env).filter(([k, v]) => PASSED_THROUGH.test(k) && v !== undefined)) as Record<string, string>;
  roles = new RoleSet({
    env: {
      DATABASE_URL: db.url,
      ADMIN_TOKEN: adminToken,
      UPSTREAM_URL: upstream.url,
      HOST: '127.0.0.1',
      REALTIME_STALE_AFTER: cfg.staleAfter,
      UPSTREAM_TIMEOUT_MS: String(cfg.upstreamTimeoutMs),
      BLOCKING_FLEX_TIMEOUT_MS: String(cfg.flexWaitMs),
      LOG_LEVEL: cfg.logLevel,
      ...passed,
    },
    roleEnv: { web: { PORT: String(webPort) }, worker: { METRICS_PORT: String(workerMetrics) }, flex: { METRICS_PORT: String(flexMetrics) } },
    readyUrl: {
      web: `http://127.0.0.1:${webPort}/readyz`,
      worker: `http://127.0.0.1:${workerMetrics}/metrics`,
      flex: `http://127.0.0.1:${flexMetrics}/metrics`,
    },
    logFile: path.join(RESULTS, 'roles.log'),
    log,
  });
  await roles.migrate();
  await Promise.all([roles.start('worker'), roles.start('flex')]);
  await roles.start('web');
  const gatewayUrl = `http://127.0.0.1:${webPort}`;
  const keyRes = await fetch(`${gatewayUrl}/admin/api-keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ user: 'chaos' }),
  });
  if (!keyRes.ok) throw new Error(`POST /admin/api-keys: ${keyRes.status} ${await keyRes.text()}`);
  const { key: apiKey } = z.object({ key: z.string().min(1) }).parse(await keyRes.json());
  pool = new pg.Pool({ connectionString: db.url, max: 4, application_name: 'volley-chaos' });
  pool.on('error', () => {});
  const sweepUrl = db.url;
  const ctx: RunContext = {
    cfg,
    roles,
    upstream,
    db,
    pool,
    gatewayUrl,
    apiKey,
    model: MODEL,
    log,
    async enqueueSweep() {
      if (boss === undefined) {
        boss = new PgBoss({ connectionString: sweepUrl, max: 2, supervise: false, schedule: false, migrate: false });
        boss.on('error', () => {});
        await boss.start();
      }
      await boss.send('sweep', {});
    },
  };
  log(`roles up (web on ${gatewayUrl}, pids ${JSON.stringify(roles.pids())}); warming up for 3 s at ${cfg.rps} req/s`);
  const warm = startLoad({
    gatewayUrl,
    apiKey,
    model: MODEL,
    rps: cfg.rps,
    concurrency: cfg.concurrency,
    mix: cfg.mix,
    timeoutMs: cfg.requestTimeoutMs,
    flexTimeoutMs: cfg.flexWaitMs + 10_000,
    pollDeadlineMs: cfg.pollDeadlineMs,
    pollIntervalMs: 500,
  });
  await sleep(3_000);
  await warm.stop();

  for (const step of steps) {
    const skipped = step.skip?.({ db });
    if (skipped !== undefined) {
      log(`${step.name}: skipped (${skipped})`);
      summaries.push({ ...summarize(step, []), skipped, pass: true });
      continue;
    }
    const reps = [];
    for (let rep = 1; rep <= cfg.repeats; rep++) {
      log(`${step.name} #${rep}: ${step.summary}`);
      const segment = await runSegment(ctx, step, rep);
      const verdict = judge(step, segment);
      reps.push({ segment, verdict });
      const m = segment.metrics;
      log(
        `${step.name} #${rep}: ${verdict.pass ? 'PASS' : 'FAIL'} (sent ${m.sent}, 2xx ${m.ok}, lost ${m.lost}, wrong ${m.wrong}, dup ${m.duplicated}, ` +
          `bg open ${m.bgNotTerminal}, recovery ${m.recoveryMs ?? 'never'} ms, ${Math.round(segment.durationMs / 1000)} s, ` +
          `harness rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB)` +
          (verdict.failures.length > 0 ? `: ${verdict.failures.join('; ')}` : ''),
      );
    }
    summaries.push(summarize(step, reps));
    writeResults('running');
  }
  writeResults('complete');
  printTable();
  log(`done in ${Math.round((Date.now() - started) / 1000)} s; results in chaos/results/latest.json, role logs in chaos/results/roles.log`);
} catch (err) {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  log(`the harness could not continue: ${message}`);
  writeResults('error', message);
  printTable();
}
await cleanup();
process.exit(0);
