import { z } from 'zod';
import type { DevUpstreamOptions } from './server.ts';

const delayMs = z.coerce.number().int().min(0).max(600_000).default(0);

/** The standalone development upstream's environment (see main.ts). */
export const devUpstreamEnvSchema = z.object({
  DEV_UPSTREAM_HOST: z.string().min(1).default('127.0.0.1'),
  DEV_UPSTREAM_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  DEV_UPSTREAM_LATENCY_MS: delayMs,
  DEV_UPSTREAM_CHUNK_DELAY_MS: delayMs,
});

/**
 * Options for startDevUpstream from environment variables. Throws an Error whose message
 * names each bad variable.
 */
export function devUpstreamOptionsFromEnv(
  env: Record<string, string | undefined>,
): Required<Omit<DevUpstreamOptions, 'onRequest'>> {
  // An empty variable means "unset", as in most shells' `VAR= cmd`.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = devUpstreamEnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid development upstream environment: ${problems}`);
  }
  const e = parsed.data;
  return {
    host: e.DEV_UPSTREAM_HOST,
    port: e.DEV_UPSTREAM_PORT,
    latencyMs: e.DEV_UPSTREAM_LATENCY_MS,
    chunkDelayMs: e.DEV_UPSTREAM_CHUNK_DELAY_MS,
  };
}
