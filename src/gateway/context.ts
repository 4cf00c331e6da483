// What the gateway's routes are given. Route files reach the database only through store/
// functions and the queues only through these interfaces (implemented by jobs/enqueue.ts
// and the poller), so they hold no SQL and no pg-boss calls.
import type { Db } from '../db/client.ts';
import type { Env } from '../config.ts';
import type { BatchOf1Input } from '../jobs/batch-of-1.ts';
import type { CompleteResponsePayload, CreateResponsePayload } from '../jobs/definitions.ts';
import type { Logger } from '../logger.ts';
import type { ResponseObject } from '../responses/response-object.ts';
import type { ModelCatalog } from '../upstream/model-catalog.ts';
import type { UpstreamProxy } from '../upstream/proxy.ts';
import type { KeyCache } from './auth.ts';
import type { ByteBudget } from '../lib/byte-budget.ts';
import type { FailedAttempts } from './failed-attempts.ts';
import type { HeldRequests } from './held-requests.ts';
import type { CompletionTracker } from './tracking.ts';

export type GatewayConfig = Pick<
  Env,
  | 'MAX_BODY_BYTES'
  | 'ADMIN_TOKEN'
  | 'BACKGROUND_COMPLETION_WINDOW'
  | 'FLEX_COMPLETION_WINDOW'
  | 'BLOCKING_FLEX_TIMEOUT_MS'
  | 'DURABILITY'
  | 'REALTIME_STALE_AFTER'
  | 'METRICS_TOKEN'
>;

/** The queue operations the gateway performs. */
export interface GatewayJobs {
  /** Resolves once the request is durable as create-response records it (its row written inline, or its job queued). */
  enqueueCreateResponse(payload: CreateResponsePayload): Promise<void>;
  enqueueCompleteResponse(payload: CompleteResponsePayload): Promise<void>;
  /** complete-response's upsert written directly, committed (before an answer's final bytes). */
  completeInline(payload: CompleteResponsePayload): Promise<void>;
  /** Pending row + process-request job in one transaction (background and flex). */
  /** The new row's `created_at`; null when it already existed. */
  createBatchOf1(input: BatchOf1Input): Promise<Date | null>;
}

export interface TerminalWaiter {
  /** Rejects with WaitTimeout after `timeoutMs`. */
  waitForTerminal(requestId: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<ResponseObject>;
}

export interface Readiness {
  ok: boolean;
  checks: Record<string, string>;
}

export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  db: Db;
  jobs: GatewayJobs;
  poller: TerminalWaiter;
  upstream: UpstreamProxy;
  /** The models table's view: each model's upstream, API and key (DESIGN 10). */
  catalog: ModelCatalog;
  /**
   * Cancels a background request (store/cancel.ts): a pending row becomes canceled at once,
   * an in-flight one has its upstream call aborted. Unset: cancel answers 501.
   */
  cancelRequest?: (requestId: string) => Promise<unknown>;
  /** Verifies x-volley-request-id; defaults to the key derived from ADMIN_TOKEN. */
  markerKey?: Buffer;
  /** Defaults to a cache over the api_keys table (KEY_CACHE_TTL_MS). */
  keys?: KeyCache;
  /** Defaults to a tracker over `jobs.enqueueCompleteResponse`. */
  tracker?: CompletionTracker;
  /** Defaults to checking the database and its migrations. */
  readiness?: () => Promise<Readiness>;
  /** Memory bounds (defaults: GATEWAY_LIMITS); tests make them small. */
  limits?: Partial<GatewayLimits>;
}

export interface GatewayLimits {
  /** Bytes of request bodies and answers held for requests in flight (the ByteBudget). */
  memoryBytes: number;
}

/**
 * 128 MiB of bodies and answers in flight: with the rest of a gateway process (~100 MB at
 * rest and under the bench's load) it stays within the 256 MB a role may use.
 */
export const GATEWAY_LIMITS: GatewayLimits = { memoryBytes: 128 * 1024 * 1024 };

export interface GatewayContext extends GatewayDeps {
  /**
   * Whether the last create-response write succeeded. While it is false, realtime requests
   * wait for their record before proxying, whatever DURABILITY says: with the
   * database failing, nothing should reach the upstream that cannot be recorded.
   */
  recording: { healthy: boolean };
  markerKey: Buffer;
  keys: KeyCache;
  tracker: CompletionTracker;
  /** Realtime requests held until their completion is stored; their rows are kept from the sweeper. */
  held: HeldRequests;
  /** Bytes held for requests in flight; admission is refused (503) when it is spent. */
  budget: ByteBudget;
  readiness: () => Promise<Readiness>;
  /** Wrong admin tokens per client address (the admin API and the dashboard's sign-in). */
  adminAttempts: FailedAttempts;
}
