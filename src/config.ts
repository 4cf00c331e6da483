import { z } from 'zod';
import { parseDuration } from './lib/duration.ts';

/**
 * The service's configuration, read once from the environment by the entry points in
 * workers/ and passed down. Nothing else reads process.env.
 */
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => parseDuration(v) !== undefined, { message: 'expected a duration such as 30s, 10m, 1h or 24h' });

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

export const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default('127.0.0.1'),
  DATABASE_URL: z.url().optional(),
  DATA_DIR: z.string().default('.data'),
  /**
   * The model server's OpenAI-style base URL (incl. /v1). `dev` chooses the built-in
   * development upstream (an echo server, not a model); unset means `dev` only for `npm start`
   * on its embedded database: with DATABASE_URL it is required, so a deployment never records
   * fake answers by accident.
   */
  UPSTREAM_URL: z.union([z.literal('dev'), z.url()]).optional(),
  UPSTREAM_API_KEY: z.string().optional(),
  UPSTREAM_TIMEOUT_MS: positiveInt(600_000),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  MAX_BODY_BYTES: positiveInt(10 * 1024 * 1024),
  FLEX_COMPLETION_WINDOW: duration('1h'),
  BACKGROUND_COMPLETION_WINDOW: duration('10m'),
  BLOCKING_FLEX_TIMEOUT_MS: positiveInt(600_000),
  /**
   * The sweeper fails a realtime row nobody finished for this long (TrackingLost; a late
   * record still wins). complete-response's own retries are fitted inside half of it
   * (jobs/definitions.ts), which needs at least a minute.
   */
  REALTIME_STALE_AFTER: duration('15m').refine((v) => parseDuration(v)! >= 60_000, {
    message: "must be at least 1m: complete-response's own retries (and a stuck attempt's 20 s expiry) must finish before the sweep",
  }),
  /**
   * Concurrent upstream calls per model across all flex processes. 64 because an OpenAI-
   * compatible model server batches far more sequences than that (vLLM's default is 256),
   * and with real model latencies the cap is the throughput: 16 calls of 2 s each is 8 req/s
   * for the whole deployment. A model's own limit is set in the models table (/admin/models).
   */
  MODEL_CONCURRENCY: positiveInt(64),
  /** Request processor: upstream calls one flex process runs at once, across models. */
  PROCESSOR_CONCURRENCY: positiveInt(64),
  /** Request processor: delay before the second attempt; doubles per attempt up to RETRY_MAX_MS. */
  RETRY_BASE_MS: positiveInt(1_000),
  RETRY_MAX_MS: positiveInt(60_000),
  /**
   * How a realtime request's record is made durable (README, "Durability"): `fast` writes it
   * while the upstream call is in flight and holds the reply until it is committed
   * (asynchronously: without waiting for its WAL flush); `strict` commits it, flushed, before
   * the upstream is called. Each value's exact loss window is in the README.
   */
  DURABILITY: z.enum(['fast', 'strict']).default('fast'),
  /**
   * Request rows (and their bodies) older than this many days are deleted by the sweeper, in
   * bounded batches; the usage rollups keep their counts. Unset: rows are kept for ever.
   */
  RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  /** How long a stopping worker waits for running jobs before handing them back for retry. */
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(20_000),
  /** When set, GET /metrics (every role's) requires `Authorization: Bearer <METRICS_TOKEN>`. */
  METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Worker and flex roles: serve GET /metrics on this port (unset: no metrics server). */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {}

/** Parses the environment; a bad value throws a ConfigError that names the variable. */
export function loadConfig(env: Record<string, string | undefined>): Env {
  // An empty variable means "unset", as in most twelve-factor tooling.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  const missing: string[] = [];
  if (parsed.data.DATABASE_URL && !parsed.data.ADMIN_TOKEN) missing.push('  ADMIN_TOKEN: required when DATABASE_URL is set');
  if (parsed.data.DATABASE_URL && !parsed.data.UPSTREAM_URL) {
    missing.push('  UPSTREAM_URL: required when DATABASE_URL is set (UPSTREAM_URL=dev chooses the built-in development upstream)');
  }
  if (missing.length > 0) throw new ConfigError(`invalid configuration:\n${missing.join('\n')}`);
  return parsed.data;
}
