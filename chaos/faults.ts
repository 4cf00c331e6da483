// The faults, one named step each: what it does to the running system, when it began and
// ended (recovery is measured from the end), and which roles it restarts on purpose.
import type { ChaosConfig } from './config.ts';
import type { ChaosDatabase } from './database.ts';
import type { Load } from './load.ts';
import { sleep, type RoleName, type RoleSet } from './roles.ts';
import type { ChaosUpstream } from './upstream.ts';
import type { UpstreamFaults } from './upstream-faults.ts';

export interface FaultContext {
  cfg: ChaosConfig;
  roles: RoleSet;
  upstream: ChaosUpstream;
  db: ChaosDatabase;
  load: Load;
  /** Enqueues a `sweep` job, as any role's pg-boss cron would once a minute. */
  enqueueSweep(): Promise<void>;
  log(line: string): void;
}

export interface FaultWindow {
  start: number;
  end: number;
  /** When the web role was SIGKILLed, for faults that kill it (fast's loss window ends here). */
  webKilledAt?: number;
  notes: string[];
}

export interface FaultStep {
  name: string;
  summary: string;
  /** Roles this fault kills or stops itself (a new pid for them is expected). */
  restarts: readonly RoleName[];
  /** Runs the SDK client-retry load alongside the steady load. */
  sdk?: boolean;
  /**
   * The fault can kill the request processor between the upstream's answer and its commit,
   * so a background request may be sent upstream again (excepted, and counted).
   */
  processorCrash?: boolean;
  /** Why the fault cannot run here; undefined when it can. */
  skip?(ctx: Pick<FaultContext, 'db'>): string | undefined;
  inject(ctx: FaultContext): Promise<FaultWindow>;
}

/** SIGKILL mid-load, then start the role again after the restart delay. */
async function killAndRestart(ctx: FaultContext, role: RoleName, delayMs: number): Promise<FaultWindow> {
  const start = Date.now();
  const pid = ctx.roles.pid(role);
  await ctx.roles.kill(role, 'SIGKILL');
  await sleep(delayMs);
  const end = Date.now();
  await ctx.roles.start(role);
  return {
    start,
    end,
    ...(role === 'web' ? { webKilledAt: start } : {}),
    notes: [`${role} pid ${pid} killed; started again after ${end - start} ms, ready after ${Date.now() - start} ms`],
  };
}

/** Upstream faults switched on for the fault window, then off. */
async function upstreamWindow(ctx: FaultContext, faults: UpstreamFaults): Promise<FaultWindow> {
  const start = Date.now();
  ctx.upstream.setFaults(faults);
  await sleep(ctx.cfg.faultWindowMs);
  ctx.upstream.clearFaults();
  return { start, end: Date.now(), notes: [] };
}

/**
 * In the order they run by default. The poison faults come last: a poisoned record that
 * volley cannot store is retried for a long time, and while it is it can fail the batches
 * it joins (the harness does not restart roles between faults, which would hide that), so
 * anything after it would pay for it.
 */
export const FAULTS: readonly FaultStep[] = [
  {
    name: 'none',
    summary: 'no fault: the baseline (the harness itself must find nothing here)',
    restarts: [],
    async inject() {
      const now = Date.now();
      return { start: now, end: now, notes: [] };
    },
  },
  {
    name: 'kill-web',
    summary: 'SIGKILL the web role mid-load, start it again after the restart delay',
    restarts: ['web'],
    inject: (ctx) => killAndRestart(ctx, 'web', ctx.cfg.restartDelayMs),
  },
  {
    name: 'kill-web-after-answer',
    summary: 'fire a batch of chat requests, SIGKILL the web role the moment the last one is answered',
    restarts: ['web'],
    async inject(ctx) {
      const batch = await Promise.all(Array.from({ length: ctx.cfg.batch }, () => ctx.load.fire('chat', 'after-answer')));
      const window = await killAndRestart(ctx, 'web', ctx.cfg.restartDelayMs);
      const answered = batch.filter((r) => r.status === 200 && r.complete).length;
      window.notes.push(`batch: ${answered}/${batch.length} answered 200 before the kill`);
      return window;
    },
  },
  {
    name: 'kill-worker',
    summary: 'SIGKILL the worker role (create/complete-response, sweeper), start it again after the restart delay',
    restarts: ['worker'],
    inject: (ctx) => killAndRestart(ctx, 'worker', ctx.cfg.restartDelayMs),
  },
  {
    name: 'kill-flex',
    summary: 'SIGKILL the flex role (request processor), start it again after the restart delay',
    restarts: ['flex'],
    processorCrash: true,
    inject: (ctx) => killAndRestart(ctx, 'flex', ctx.cfg.restartDelayMs),
  },
  {
    name: 'postgres-immediate-stop',
    summary: 'pg_ctl stop -m immediate, keep PostgreSQL down, start it again (same data directory and port)',
    restarts: [],
    processorCrash: true,
    skip: (ctx) => (ctx.db.control === undefined ? ctx.db.controlNote : undefined),
    async inject(ctx) {
      const control = ctx.db.control!;
      const start = Date.now();
      await control.stopImmediate();
      await sleep(ctx.cfg.pgDownMs);
      await control.start();
      const end = Date.now();
      return { start, end, notes: [`PostgreSQL down for ${end - start} ms`] };
    },
  },
  {
    name: 'worker-outage',
    summary: 'stop the worker role (SIGTERM) for longer than REALTIME_STALE_AFTER, enqueue a sweep meanwhile, start it again',
    restarts: ['worker'],
    async inject(ctx) {
      const start = Date.now();
      await ctx.roles.kill('worker', 'SIGTERM');
      // The sweep is due once the first rows of the outage are stale; it runs when the
      // worker is back, next to the complete-response backlog of the outage.
      await sleep(Math.max(0, start + ctx.cfg.staleAfterMs + 2_000 - Date.now()));
      await ctx.enqueueSweep();
      const sweptAt = Date.now();
      await sleep(Math.max(0, start + ctx.cfg.staleAfterMs + 5_000 - Date.now()));
      const end = Date.now();
      await ctx.roles.start('worker');
      return {
        start,
        end,
        notes: [`worker down for ${end - start} ms (REALTIME_STALE_AFTER ${ctx.cfg.staleAfter}); sweep enqueued after ${sweptAt - start} ms`],
      };
    },
  },
  {
    name: 'upstream-429',
    summary: 'a fraction of upstream calls answered 429 with Retry-After: 1',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { http429: ctx.cfg.faultRate }),
  },
  {
    name: 'upstream-5xx',
    summary: 'a fraction of upstream calls answered 500 or 503',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { http5xx: ctx.cfg.faultRate }),
  },
  {
    name: 'upstream-timeout',
    summary: 'a fraction of upstream calls never answered (the caller gives up at UPSTREAM_TIMEOUT_MS)',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { hang: ctx.cfg.faultRate }),
  },
  {
    name: 'upstream-reset',
    summary: 'a fraction of upstream connections reset before the headers or mid-body/stream',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { reset: ctx.cfg.faultRate }),
  },
  {
    name: 'client-retries',
    summary: 'the openai SDK (maxRetries 2, an Idempotency-Key per logical request) against upstream 5xx/resets and a web kill',
    restarts: ['web'],
    sdk: true,
    async inject(ctx) {
      const start = Date.now();
      ctx.upstream.setFaults({ http5xx: ctx.cfg.faultRate / 2, reset: ctx.cfg.faultRate / 3 });
      await sleep(ctx.cfg.faultWindowMs / 2);
      // A short restart delay, so SDK retries (0.5 s, then about 1 s later) land on both sides of it.
      const kill = await killAndRestart(ctx, 'web', Math.min(1_000, ctx.cfg.restartDelayMs));
      await sleep(ctx.cfg.faultWindowMs / 2);
      ctx.upstream.clearFaults();
      return { start, end: Date.now(), webKilledAt: kill.webKilledAt ?? kill.start, notes: kill.notes };
    },
  },
  {
    name: 'poison-usage',
    summary: 'a fraction of requests answered with usage.prompt_tokens (input_tokens) = 3e9, above int4',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { poisonUsage: ctx.cfg.poisonRate }),
  },
  {
    name: 'poison-nul',
    summary: 'a fraction of requests answered with a NUL in the content (the \\u0000 escape, or a raw 0x00 byte)',
    restarts: [],
    inject: (ctx) => upstreamWindow(ctx, { poisonNul: ctx.cfg.poisonRate }),
  },
];

export const FAULT_NAMES: readonly string[] = FAULTS.map((f) => f.name);
