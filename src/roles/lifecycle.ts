import v8 from 'node:v8';
import { ConfigError, loadConfig, type Env } from '../config.ts';
import { startDevUpstream, type DevUpstream } from '../dev-upstream/server.ts';
import type { Logger } from '../logger.ts';

/** Reads the configuration or exits with a message that names the bad variable. */
export function loadConfigOrExit(env: Record<string, string | undefined>): Env {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`volley: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * Caps how far V8 lets its old generation grow past what survived the last full collection:
 * twice, not up to four times (the factor it picks when collection has been cheap, as it is
 * on heaps of this size). An analytics answer (a month by hour: thousands of data points)
 * promotes megabytes of short-lived objects, so forty of them took the web role from 130 to
 * ~300 MB resident with only ~35 MB live; with the cap, ~210 MB. The price is a full
 * collection about twice as often, of a heap that small a few ms of mostly concurrent work.
 * A --heap-growing-percent given to node itself (execArgv or NODE_OPTIONS) wins.
 */
export function limitHeapGrowth(percent = 100): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('heap-growing-percent'));
  if (!given) v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * Runs `shutdown` once on SIGTERM or SIGINT, then exits 0 (1 if shutdown threw). A second
 * signal while shutting down exits at once: the operator asked twice. `hardLimitMs` bounds
 * the whole shutdown: closing a pool waits for statements still running (one blocked on a
 * lock could wait forever), and by then pg-boss has already handed unfinished jobs back.
 */
export function onShutdownSignal(log: Logger, shutdown: () => Promise<void>, hardLimitMs = 30_000): void {
  let stopping = false;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      log.info({ signal }, 'shutting down');
      setTimeout(() => {
        log.warn({ hardLimitMs }, 'shutdown did not finish in time; exiting');
        process.exit(1);
      }, hardLimitMs).unref();
      shutdown().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

/** Separate roles (Procfile) share one server; only `npm start` may use an embedded one. */
export function requireDatabaseUrl(env: Env, role: string): string {
  if (!env.DATABASE_URL) {
    process.stderr.write(
      `volley: DATABASE_URL is required for the ${role} role (npm start runs every role on an embedded PostgreSQL)\n`,
    );
    process.exit(2);
  }
  return env.DATABASE_URL;
}

/**
 * UPSTREAM_URL, or (`dev`, or unset for `npm start` on its embedded database: the
 * configuration refuses unset otherwise) the built-in development upstream started in this
 * process, with a warning that it is a development tool. `devUpstream` is set when one was
 * started: close it on shutdown.
 */
export async function resolveUpstream(env: Env, log: Logger): Promise<{ url: string; devUpstream?: DevUpstream }> {
  if (env.UPSTREAM_URL !== undefined && env.UPSTREAM_URL !== 'dev') return { url: env.UPSTREAM_URL };
  const devUpstream = await startDevUpstream({ port: 0 });
  log.warn({ url: devUpstream.url }, 'UPSTREAM_URL is unset: using the built-in development upstream (not a real model)');
  return { url: devUpstream.url, devUpstream };
}
