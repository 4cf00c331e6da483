// The harness's knobs (CHAOS_*), read once from the environment. See chaos/README.md.
import { z } from 'zod';
import { DEFAULT_MIX, parseMix, type Mix } from './load.ts';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const fraction = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

const schema = z.object({
  CHAOS_FAULTS: z.string().default(''),
  CHAOS_REPEATS: int(3, 1),
  /** Steady load before each fault and after recovery. */
  CHAOS_SECONDS: int(5, 1),
  CHAOS_RPS: int(150, 1),
  CHAOS_CONCURRENCY: int(512, 1),
  CHAOS_MIX: z.string().default(''),
  CHAOS_SDK_RPS: int(20, 1),
  /** How long an upstream fault (or poison) window lasts. */
  CHAOS_FAULT_SECONDS: int(5, 1),
  /** Fraction of upstream calls failed during an upstream fault window. */
  CHAOS_FAULT_RATE: fraction(0.3),
  /** Fraction of requests poisoned during a poison window. */
  CHAOS_POISON_RATE: fraction(0.05),
  /** A killed role is started again after this long. */
  CHAOS_RESTART_DELAY_MS: int(3_000),
  CHAOS_PG_DOWN_SECONDS: int(10, 1),
  /** The roles' REALTIME_STALE_AFTER (the sweep threshold), scaled down from 15m. */
  CHAOS_STALE_AFTER: z.string().regex(/^\d+(ms|s|m|h)$/).default('1m'),
  /** The roles' UPSTREAM_TIMEOUT_MS: how long a hung upstream call is waited for. */
  CHAOS_UPSTREAM_TIMEOUT_MS: int(3_000, 1),
  CHAOS_UPSTREAM_LATENCY_MS: int(5),
  CHAOS_UPSTREAM_CHUNK_MS: int(1),
  /** Requests fired at once before the web role is killed in kill-web-after-answer. */
  CHAOS_BATCH: int(50, 1),
  CHAOS_REQUEST_TIMEOUT_MS: int(20_000, 1),
  /** The roles' BLOCKING_FLEX_TIMEOUT_MS; the client waits 10 s longer. */
  CHAOS_FLEX_WAIT_MS: int(45_000, 1),
  CHAOS_POLL_DEADLINE_SECONDS: int(60, 1),
  CHAOS_RECOVERY_TIMEOUT_SECONDS: int(60, 1),
  /** Longest wait for the rows of a segment to become terminal... */
  CHAOS_SETTLE_SECONDS: int(60, 1),
  /** ...given up earlier when none became terminal for this long. */
  CHAOS_SETTLE_IDLE_SECONDS: int(20, 1),
  CHAOS_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('warn'),
});

export interface ChaosConfig {
  faults: string[];
  repeats: number;
  steadyMs: number;
  rps: number;
  concurrency: number;
  mix: Mix;
  sdkRps: number;
  faultWindowMs: number;
  faultRate: number;
  poisonRate: number;
  restartDelayMs: number;
  pgDownMs: number;
  staleAfter: string;
  staleAfterMs: number;
  upstreamTimeoutMs: number;
  upstreamLatencyMs: number;
  upstreamChunkMs: number;
  batch: number;
  requestTimeoutMs: number;
  flexWaitMs: number;
  pollDeadlineMs: number;
  recoveryTimeoutMs: number;
  settleMs: number;
  settleIdleMs: number;
  logLevel: string;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** Parses the CHAOS_* variables; throws with every bad one named. */
export function readChaosConfig(env: Record<string, string | undefined>): ChaosConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('CHAOS_') && v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    throw new Error(`invalid configuration:\n${parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  const c = parsed.data;
  const [, amount, unit] = /^(\d+)(ms|s|m|h)$/.exec(c.CHAOS_STALE_AFTER)!;
  return {
    faults: c.CHAOS_FAULTS.split(',').map((f) => f.trim()).filter(Boolean),
    repeats: c.CHAOS_REPEATS,
    steadyMs: c.CHAOS_SECONDS * 1_000,
    rps: c.CHAOS_RPS,
    concurrency: c.CHAOS_CONCURRENCY,
    mix: c.CHAOS_MIX === '' ? DEFAULT_MIX : parseMix(c.CHAOS_MIX),
    sdkRps: c.CHAOS_SDK_RPS,
    faultWindowMs: c.CHAOS_FAULT_SECONDS * 1_000,
    faultRate: c.CHAOS_FAULT_RATE,
    poisonRate: c.CHAOS_POISON_RATE,
    restartDelayMs: c.CHAOS_RESTART_DELAY_MS,
    pgDownMs: c.CHAOS_PG_DOWN_SECONDS * 1_000,
    staleAfter: c.CHAOS_STALE_AFTER,
    staleAfterMs: Number(amount) * UNIT_MS[unit!]!,
    upstreamTimeoutMs: c.CHAOS_UPSTREAM_TIMEOUT_MS,
    upstreamLatencyMs: c.CHAOS_UPSTREAM_LATENCY_MS,
    upstreamChunkMs: c.CHAOS_UPSTREAM_CHUNK_MS,
    batch: c.CHAOS_BATCH,
    requestTimeoutMs: c.CHAOS_REQUEST_TIMEOUT_MS,
    flexWaitMs: c.CHAOS_FLEX_WAIT_MS,
    pollDeadlineMs: c.CHAOS_POLL_DEADLINE_SECONDS * 1_000,
    recoveryTimeoutMs: c.CHAOS_RECOVERY_TIMEOUT_SECONDS * 1_000,
    settleMs: c.CHAOS_SETTLE_SECONDS * 1_000,
    settleIdleMs: c.CHAOS_SETTLE_IDLE_SECONDS * 1_000,
    logLevel: c.CHAOS_LOG_LEVEL,
  };
}

/** The service's own tuning variables, passed through to the roles when set. */
export const PASSED_THROUGH = /^(DURABILITY|CREATE_RESPONSE_.*|COMPLETE_RESPONSE_.*|PROCESSOR_.*|MODEL_CONCURRENCY.*|RETRY_.*|SHUTDOWN_TIMEOUT_MS|API_KEY_CACHE_TTL_MS)$/;
