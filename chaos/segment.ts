// One repetition of one fault: steady load, the fault, recovery, steady load again, then
// the verification of everything the clients were told.
import type pg from 'pg';
import { classify, type Metrics } from './classify.ts';
import type { ChaosConfig } from './config.ts';
import type { ChaosDatabase } from './database.ts';
import type { FaultStep, FaultWindow } from './faults.ts';
import { startLoad, type Load } from './load.ts';
import { ROLE_NAMES, sleep, type RoleName, type RoleSet } from './roles.ts';
import { startSdkLoad } from './sdk-load.ts';
import type { ChaosUpstream } from './upstream.ts';
import { settleAndFetch, toldIds } from './verify.ts';

export interface RunContext {
  cfg: ChaosConfig;
  roles: RoleSet;
  upstream: ChaosUpstream;
  db: ChaosDatabase;
  pool: pg.Pool;
  gatewayUrl: string;
  apiKey: string;
  model: string;
  enqueueSweep(): Promise<void>;
  log(line: string): void;
}

export interface RoleOutcome {
  pidBefore: number | undefined;
  pidAfter: number | undefined;
  /** The fault itself killed or stopped it. */
  restartedByFault: boolean;
  /** Exits the harness did not cause (a process manager would have restarted it). */
  unexpectedExits: number;
  /** Served again after the fault (see Metrics.served); undefined when nothing tested it. */
  served: boolean | undefined;
}

export interface SegmentResult {
  fault: string;
  rep: number;
  window: FaultWindow;
  /** Live detection: this many ms after the fault's end, 20 answers in a row succeeded. */
  liveRecoveryMs: number | null;
  load: { sent: number; skipped: number; sdkSent: number };
  settle: { ms: number; allTerminal: boolean; openStates: Record<string, number> };
  metrics: Metrics;
  roles: Record<RoleName, RoleOutcome>;
  unexpectedExitTails: string[];
  error?: string;
  durationMs: number;
}

const RECOVERED_AFTER = 20;

/** Resolves with ms from `since` once RECOVERED_AFTER answers in a row (started after it) were good; null at the timeout. */
async function waitForRecovery(load: Load, since: number, timeoutMs: number): Promise<number | null> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let good = 0;
    for (let i = load.answers.length - 1; i >= 0 && good < RECOVERED_AFTER; i--) {
      const a = load.answers[i]!;
      // Answers come in as they finish: a slow one that started before `since` is not a verdict.
      if (a.startedAt < since) continue;
      if (!a.ok) break;
      good++;
    }
    if (good >= RECOVERED_AFTER) return Date.now() - since;
    await sleep(100);
  }
  return null;
}

/** Runs one repetition of `step` and verifies it (never throws for a failed fault step: it is in `error`). */
export async function runSegment(ctx: RunContext, step: FaultStep, rep: number): Promise<SegmentResult> {
  const { cfg, roles, upstream } = ctx;
  ctx.upstream.resetCalls();
  ctx.upstream.clearFaults();
  await roles.settled();
  const exitsBefore = roles.unexpectedExits.length;
  const pidsBefore = roles.pids();
  const segmentStart = Date.now();
  const client = {
    apiKey: ctx.apiKey,
    model: ctx.model,
    timeoutMs: cfg.requestTimeoutMs,
    flexTimeoutMs: cfg.flexWaitMs + 10_000,
    pollDeadlineMs: cfg.pollDeadlineMs,
    pollIntervalMs: 500,
  };
  const load = startLoad({ ...client, gatewayUrl: ctx.gatewayUrl, rps: cfg.rps, concurrency: cfg.concurrency, mix: cfg.mix });
  const sdk = step.sdk
    ? startSdkLoad({ ...client, gatewayUrl: ctx.gatewayUrl, rps: cfg.sdkRps, concurrency: 128 })
    : undefined;
  await sleep(cfg.steadyMs);

  let window: FaultWindow;
  let error: string | undefined;
  try {
    window = await step.inject({ cfg, roles, upstream, db: ctx.db, load, enqueueSweep: ctx.enqueueSweep, log: ctx.log });
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
    ctx.log(`${step.name} #${rep}: the fault step failed: ${error}`);
    window = { start: Date.now(), end: Date.now(), notes: [`fault step failed: ${error}`] };
    await restore(ctx);
  }
  const liveRecoveryMs = await waitForRecovery(load, window.end, cfg.recoveryTimeoutMs);
  await sleep(cfg.steadyMs);
  const loadEnd = Date.now();
  const [records, sdkRecords] = await Promise.all([load.stop(), sdk?.stop() ?? Promise.resolve([])]);
  upstream.clearFaults();
  await roles.settled();
  const pidsAfter = roles.pids();
  const exits = roles.unexpectedExits.slice(exitsBefore);

  const all = [...records, ...sdkRecords];
  const settled = await settleAndFetch(ctx.pool, {
    ids: toldIds(all),
    since: new Date(segmentStart - 1_000),
    settleMs: cfg.settleMs,
    idleMs: cfg.settleIdleMs,
  });
  const metrics = classify({
    records: all,
    rows: settled.rows,
    callsFor: (nonce) => upstream.callsFor(nonce),
    times: window,
    loadEnd,
    ...(window.webKilledAt !== undefined ? { webKilledAt: window.webKilledAt } : {}),
  });
  const roleOutcomes = Object.fromEntries(
    ROLE_NAMES.map((role): [RoleName, RoleOutcome] => [
      role,
      {
        pidBefore: pidsBefore[role],
        pidAfter: pidsAfter[role],
        restartedByFault: step.restarts.includes(role),
        unexpectedExits: exits.filter((e) => e.role === role).length,
        served: role === 'web' ? metrics.served.web : metrics.served[role],
      },
    ]),
  ) as Record<RoleName, RoleOutcome>;
  return {
    fault: step.name,
    rep,
    window,
    liveRecoveryMs,
    load: { sent: load.sent, skipped: load.skipped, sdkSent: sdkRecords.length },
    settle: { ms: settled.settleMs, allTerminal: settled.allTerminal, openStates: settled.openStates },
    metrics,
    roles: roleOutcomes,
    unexpectedExitTails: exits.map((e) => `${e.role} pid ${e.pid} (code ${e.code}, signal ${e.signal}):\n${e.tail}`),
    ...(error !== undefined ? { error } : {}),
    durationMs: Date.now() - segmentStart,
  };
}

/** After a fault step failed half-way: faults off, PostgreSQL up, every role running. */
async function restore(ctx: RunContext): Promise<void> {
  ctx.upstream.clearFaults();
  if (ctx.db.control) await ctx.db.control.start().catch(() => {});
  for (const role of ROLE_NAMES) {
    if (ctx.roles.pid(role) === undefined) await ctx.roles.start(role).catch((err: unknown) => ctx.log(`could not start ${role}: ${String(err)}`));
  }
}
