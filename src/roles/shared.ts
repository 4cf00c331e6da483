// What every role is started with, and the shared pieces `npm start` hands to all of them.
import type { PgBoss } from 'pg-boss';
import type { Env } from '../config.ts';
import { MODELS_CHANNEL } from '../db/channels.ts';
import { ModelCatalog } from '../upstream/model-catalog.ts';
import { parseDuration } from '../lib/duration.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Listener } from '../poller/listener.ts';

export interface RoleOptions {
  env: Env;
  logger: Logger;
  /** DATABASE_URL, or the embedded server's. */
  databaseUrl: string;
  /**
   * Pieces owned by the caller (all-in-one shares one of each between roles): a role opens
   * what it is not given and closes only what it opened.
   */
  shared?: { database?: Database; listener?: Listener; boss?: PgBoss; catalog?: ModelCatalog };
  /**
   * Reads an environment variable a model's `upstream_api_key_env` names (DESIGN 10): the
   * entry points pass process.env's reader; unset, no model has a key of its own.
   */
  secrets?: (name: string) => string | undefined;
}

/**
 * The models table's view for this process: read at start, and again on every change
 * announced on the process's LISTEN connection and after it reconnects (a missed change is
 * also picked up by the catalog's own periodic refresh).
 */
export async function startModelCatalog(
  opts: RoleOptions & { database: Database; listener: Listener; upstreamUrl: string },
): Promise<ModelCatalog> {
  const catalog = new ModelCatalog({
    db: opts.database.db,
    defaultUrl: opts.upstreamUrl,
    defaultApiKey: opts.env.UPSTREAM_API_KEY,
    defaultConcurrency: opts.env.MODEL_CONCURRENCY,
    secret: opts.secrets ?? (() => undefined),
    logger: opts.logger,
  });
  await catalog.start();
  const reload = () => void catalog.reload().catch(() => {});
  await opts.listener.subscribe(MODELS_CHANNEL, reload);
  opts.listener.onReconnect(reload);
  return catalog;
}

/**
 * pg-boss supervision every 10 s (its default is 60 s): a flex process that dies mid-call
 * leaves its job active until its heartbeat (10 s) goes stale and a supervisor notices, so
 * such a job is handed to another process within about 20 s.
 */
export const SUPERVISE = { superviseIntervalSeconds: 10, monitorIntervalSeconds: 10 } as const;

/** Closes what a role opened, last opened first; the first error is rethrown after all ran. */
export async function closeAll(closers: readonly (() => Promise<unknown>)[]): Promise<void> {
  let first: unknown;
  for (const close of [...closers].reverse()) {
    try {
      await close();
    } catch (err) {
      first ??= err;
    }
  }
  if (first !== undefined) throw first;
}

/** Registers something a role opened (closed in reverse order by closeAll) and returns it. */
export function own<T>(closers: (() => Promise<unknown>)[], thing: T, close?: (t: T) => Promise<unknown>): T {
  closers.push(() => (close ? close(thing) : (thing as unknown as { close(): Promise<unknown> }).close()));
  return thing;
}

/** REALTIME_STALE_AFTER in milliseconds (validated as a duration when the configuration loads). */
export function staleAfterMs(env: Env): number {
  return parseDuration(env.REALTIME_STALE_AFTER)!;
}
