import type { PgBoss } from 'pg-boss';
import type { Env } from '../config.ts';
import type { Db } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import type { Listener } from '../poller/listener.ts';
import { UpstreamClient, type UpstreamConfig } from '../upstream/client.ts';
import { requestMarkerKey } from '../upstream/request-marker.ts';
import { InFlightCalls } from '../processor/in-flight.ts';
import type { BackoffPolicy } from '../upstream/retry-policy.ts';
import type { ModelCatalog } from '../upstream/model-catalog.ts';
import { QUEUES } from './definitions.ts';
import { processRequestHandler } from './handlers/process-request.ts';
import { work, type JobEvents } from './run.ts';

export interface RequestProcessorOptions {
  boss: PgBoss;
  db: Db;
  /** The process's LISTEN connection; cancellations arrive through it. */
  listener: Listener;
  logger: Logger;
  upstream: UpstreamConfig;
  /** The models table's view: each model's route and API, and its concurrency limit. */
  catalog: ModelCatalog;
  /** Backoff between attempts (RETRY_BASE_MS, RETRY_MAX_MS). */
  backoff: BackoffPolicy;
  /** Jobs this process runs at once, across models (PROCESSOR_CONCURRENCY). */
  localConcurrency?: number;
  /** Jobs per fetch (default FETCH_BATCH_SIZE); fetch loops = localConcurrency / batchSize. */
  batchSize?: number;
  /** How often an idle fetch loop looks for due retries (NOTIFY wakes it for new jobs). */
  pollingIntervalSeconds?: number;
  events?: JobEvents;
  /** Tests: a client other than the pooled HTTP one. */
  client?: Pick<UpstreamClient, 'call' | 'close'>;
}

export interface RequestProcessor {
  /** Upstream calls in progress in this process. */
  readonly inFlight: number;
  /**
   * Call after `boss.stop()`: waits (up to `drainMs`, default 5 s) for attempts that
   * pg-boss aborted at its shutdown timeout to hand their rows back, then unsubscribes and
   * closes the HTTP pool. Close the database after this.
   */
  stop(drainMs?: number): Promise<void>;
}

/**
 * process-request jobs per fetch. With real model latencies the per-model limit is the
 * throughput, so each process runs many calls at once; 64 per model with fetches of 32 (two
 * fetch loops per process) completed 1,095–1,303 requests/s against the development
 * upstream where 16 with fetches of 16 completed 718–826, in the same minutes (bench P4).
 */
export const FETCH_BATCH_SIZE = 32;

/**
 * The `flex` role's queue: process-request. Each fetch loop takes a small batch and runs its
 * attempts concurrently; a batch holds its loop until its slowest upstream call ends, so
 * batches stay small (FETCH_BATCH_SIZE) and loops are many. With one job per fetch,
 * pg-boss's pause after every fetch capped a process at loops / 2 s (measured: 9 requests/s
 * against an upstream that answers at once).
 *
 * The per-model limit (DESIGN 8.4) is enforced twice. pg-boss's groupConcurrency (every job
 * is sent in its model's group, batch-of-1.ts) keeps fetches from taking far more than the
 * limit, but it is not exact: concurrent fetches count the group in their own snapshots
 * and over-admit. The exact limit is the claim's admission check
 * (store/requests/attempt-claims.ts), serialized per model in the database, so it holds across
 * every process; a job admitted past it waits for a slot before calling the upstream.
 */
export async function startRequestProcessor(opts: RequestProcessorOptions): Promise<RequestProcessor> {
  const log = opts.logger.child({ component: 'processor' });
  const client = opts.client ?? new UpstreamClient(opts.upstream, { connections: Math.max(opts.localConcurrency ?? 16, 16) });
  const inFlight = new InFlightCalls();
  await inFlight.start({ listener: opts.listener, db: opts.db, logger: log });
  // pg-boss caps a fetch at the model group's free slots. A fetch that comes back short of
  // batchSize ends burst mode and its loop sleeps the polling interval, so a batch larger
  // than the model limit never bursts: measured, batch 32 over a limit of 16 drained 9
  // requests/s, batch 16 over 16 about 1,000. Hence the clamp, and the short interval for
  // loops whose fetch came back short (NOTIFY wakes them for new jobs, not for freed slots).
  const polling = opts.pollingIntervalSeconds ?? 0.5;
  const concurrency = opts.localConcurrency ?? 16;
  const limits = opts.catalog.concurrency();
  const batchSize = Math.min(opts.batchSize ?? FETCH_BATCH_SIZE, concurrency, limits.default);
  await work(
    opts.boss,
    QUEUES.processRequest,
    {
      batchSize,
      // pg-boss sleeps the polling interval after every fetch, even a fruitful one, unless
      // the fetch came back full: with batches, a backlog is drained without pauses.
      burstWhenBatchFull: batchSize > 1,
      localConcurrency: Math.ceil(concurrency / batchSize),
      // pg-boss's coarse filter takes the limits as they are at start; the exact admission
      // in the claim reads the models table's current ones on every fetch.
      groupConcurrency: { default: limits.default, tiers: { ...limits.overrides } },
      pollingIntervalSeconds: polling,
      notifyPollingIntervalSeconds: polling,
    },
    processRequestHandler({
      db: opts.db,
      boss: opts.boss,
      client,
      inFlight,
      backoff: opts.backoff,
      catalog: opts.catalog,
      modelConcurrency: () => opts.catalog.concurrency(),
    }),
    log,
    opts.events,
  );
  return {
    get inFlight() {
      return inFlight.size;
    },
    async stop(drainMs = 5_000) {
      if (!(await inFlight.drained(drainMs))) log.warn({ inFlight: inFlight.size }, 'attempts still running at stop');
      inFlight.stop();
      await client.close();
    },
  };
}

/** The processor's settings from the configuration. */
export function requestProcessorSettings(
  env: Env,
  /** Signs the calls' x-volley-request-id; `npm start` passes the token it generated. */
  adminToken: string | undefined = env.ADMIN_TOKEN,
): Pick<RequestProcessorOptions, 'upstream' | 'backoff' | 'localConcurrency'> {
  return {
    upstream: { timeoutMs: env.UPSTREAM_TIMEOUT_MS, markerKey: requestMarkerKey(adminToken) },
    backoff: { baseMs: env.RETRY_BASE_MS, maxMs: env.RETRY_MAX_MS },
    localConcurrency: env.PROCESSOR_CONCURRENCY,
  };
}
