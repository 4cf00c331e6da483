import { sql } from 'drizzle-orm';
import { fromDrizzle, type Db as BossDatabase, type PgBoss } from 'pg-boss';
import type { Db, Executor } from '../db/client.ts';
import type { ServiceTier } from '../db/schema/requests.ts';
import { parseDuration } from '../lib/duration.ts';
import { jobId } from '../ids.ts';
import { createSingleRequestBatch, createSingleRequestBatches } from '../store/requests.ts';
import { realtimeStartRow } from './handlers/create-response.ts';
import { Coalescer } from '../lib/coalescer.ts';
import {
  MAX_ENVELOPE_RECORDS,
  MAX_ENVELOPE_TEXT,
  PRIORITY,
  QUEUES,
  type TrackingQueue,
  type CompleteResponsePayload,
  type CreateResponsePayload,
  type ProcessRequestPayload,
} from './definitions.ts';

/**
 * The gateway's side of the queues. Enqueues are coalesced: concurrent calls become one
 * `insert()` (one statement) of as few jobs as possible (see trackingJobs), which is what
 * lets the hot path afford a durable write per request. Job ids are deterministic, so
 * re-sending after an ambiguous failure cannot create a second job.
 */
export class Producer {
  readonly #boss: PgBoss;
  readonly #creates: Coalescer<CreateResponsePayload>;
  readonly #completes: Coalescer<CompleteResponsePayload>;

  /**
   * `createDb`: where create-response's jobs are inserted (default: pg-boss's own pool). The
   * gateway passes its create-response pool, so a queued create commits as the inline write
   * does (CREATE_RESPONSE_SYNC_COMMIT).
   */
  constructor(
    boss: PgBoss,
    opts: { maxBatch?: number; maxInFlight?: number; completeLingerMs?: number; createDb?: BossDatabase } = {},
  ) {
    this.#boss = boss;
    const { completeLingerMs, createDb, ...batching } = opts;
    this.#creates = new Coalescer((items) => this.#insert(QUEUES.createResponse, items, createDb), batching);
    // Nobody waits on complete-response (the client has its answer): letting it linger a few
    // milliseconds turns one pg-boss insert per request into one per handful of requests.
    this.#completes = new Coalescer((items) => this.#insert(QUEUES.completeResponse, items), {
      ...batching,
      lingerMs: completeLingerMs ?? 0,
    });
  }

  /** Resolves once the create-response job is committed (durable before proxying). */
  enqueueCreateResponse(payload: CreateResponsePayload): Promise<void> {
    return this.#creates.add(payload);
  }

  /** Resolves once the complete-response job is committed. */
  enqueueCompleteResponse(payload: CompleteResponsePayload): Promise<void> {
    return this.#completes.add(payload);
  }

  /** Waits for every enqueue accepted so far (graceful shutdown). */
  async close(): Promise<void> {
    await Promise.all([this.#creates.drain(), this.#completes.drain()]);
  }

  async #insert(queue: TrackingQueue, items: { requestId: string }[], db?: BossDatabase) {
    await this.#boss.insert(queue, trackingJobs(queue, items), db ? { db } : {});
  }
}

/**
 * The pg-boss jobs for one flush of tracking records. A lone record is the design's job:
 * its payload as is, id UUIDv5("<queue>:<requestId>"). Several become envelopes of up to
 * MAX_ENVELOPE_RECORDS records and MAX_ENVELOPE_TEXT of text (a record alone in its group
 * goes as the design's job), id UUIDv5 of the queue and their sorted request ids, so
 * re-sending the same flush is still deduplicated; a record re-sent in another flush runs
 * twice, which every tracking handler absorbs (they are idempotent per request).
 */
export function trackingJobs(queue: TrackingQueue, items: readonly { requestId: string }[]): { id: string; data: object }[] {
  // A re-send of a record still waiting in the same flush is the same record: keep the first.
  const byRequest = new Map<string, { requestId: string }>();
  for (const item of items) if (!byRequest.has(item.requestId)) byRequest.set(item.requestId, item);
  const records = [...byRequest.values()].sort((a, b) => compare(a.requestId, b.requestId));
  const jobs = envelopes(records).map((group) =>
    group.length === 1
      ? { id: jobId(queue, group[0]!.requestId), data: group[0]! }
      : { id: jobId(queue, group.map((r) => r.requestId).join(',')), data: { records: group } },
  );
  // Two inserts in flight that share ids (a re-send while the first is uncommitted) wait
  // on each other's index entries; in id order they cannot wait in a cycle. (Seen without
  // the sort: "deadlock detected" in the randomized race test.)
  return jobs.sort((a, b) => compare(a.id, b.id));
}

/** Consecutive groups of at most MAX_ENVELOPE_RECORDS records and MAX_ENVELOPE_TEXT of text. */
function envelopes<T extends object>(records: readonly T[]): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let text = 0;
  for (const record of records) {
    const size = textLength(record);
    if (group.length > 0 && (group.length === MAX_ENVELOPE_RECORDS || text + size > MAX_ENVELOPE_TEXT)) {
      groups.push(group);
      group = [];
      text = 0;
    }
    group.push(record);
    text += size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

function textLength(record: object): number {
  let n = 0;
  for (const value of Object.values(record)) if (typeof value === 'string') n += value.length;
  return n;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * create-response's write performed by the gateway itself, for CREATE_RESPONSE_MODE=inline
 * (the default). The hot path needs the request durable before it is answered; a pg-boss
 * insert of one job measured ~2 ms at p50 here (4 ms with workers draining the queue), the
 * same row written directly ~0.2 ms. The write is create-response's own (same row, same
 * ON CONFLICT DO NOTHING), so the race with complete-response is unchanged, and concurrent
 * requests share one statement. The create-response queue stays for producers that can
 * only enqueue (Producer.enqueueCreateResponse) and for CREATE_RESPONSE_MODE=queue.
 *
 * The gateway gives it a pool with synchronous_commit=off (CREATE_RESPONSE_SYNC_COMMIT):
 * waiting for the WAL flush put the disk's fsync tail on every request's latency (added p99
 * at 500 req/s, interleaved runs: 6.56 and 6.76 ms with the wait, 4.55 and 4.47 without).
 * The row is still committed before the request is answered (with
 * CREATE_RESPONSE_DURABLE=before-proxy, before it is proxied), so a gateway crash cannot
 * lose it; only a PostgreSQL crash within ~3 x wal_writer_delay can, and then
 * complete-response (committed synchronously, carrying the request as well) recreates it.
 */
export class InlineCreateResponse {
  readonly #writes: Coalescer<CreateResponsePayload>;

  constructor(db: Executor, opts: { maxBatch?: number; maxInFlight?: number } = {}) {
    this.#writes = new Coalescer(async (items) => {
      const rows = items.map(realtimeStartRow).filter((r) => r !== undefined);
      if (rows.length > 0) await createSingleRequestBatches(db, rows);
    }, opts);
  }

  /** Resolves once the `processing` row is committed. */
  record(payload: CreateResponsePayload): Promise<void> {
    return this.#writes.add(payload);
  }

  close(): Promise<void> {
    return this.#writes.drain();
  }
}

export interface BatchOf1Input {
  requestId: string;
  body: string;
  model: string;
  endpoint: string;
  serviceTier: ServiceTier;
  background: boolean;
  createdBy: string;
  apiKeyId: string | null;
  /** '10m' (realtime background) or '1h' (flex); sets expires_at. */
  completionWindow: string;
}

/**
 * A background or flex request: the pending row and its process-request job in one
 * transaction, so neither exists without the other (the reference ran background work in a
 * spawned task and lost it on a crash). Flex runs at low priority. The job's group is the
 * model, which is what per-model concurrency limits count. Idempotent on requestId.
 */
export async function createBatchOf1(db: Db, boss: PgBoss, input: BatchOf1Input): Promise<void> {
  const windowMs = parseDuration(input.completionWindow);
  if (windowMs === undefined) throw new Error(`invalid completion window ${input.completionWindow}`);
  await db.transaction(async (tx) => {
    const inserted = await createSingleRequestBatch(tx, {
      requestId: input.requestId,
      batchId: input.requestId,
      endpoint: input.endpoint,
      model: input.model,
      serviceTier: input.serviceTier,
      background: input.background,
      body: input.body,
      createdBy: input.createdBy,
      apiKeyId: input.apiKeyId,
      state: 'pending',
      completionWindow: input.completionWindow,
      expiresAt: new Date(Date.now() + windowMs),
    });
    if (!inserted) return;
    await sendProcessRequest(boss, tx, input.requestId, {
      priority: input.serviceTier === 'flex' ? PRIORITY.flex : PRIORITY.background,
      model: input.model,
    });
  });
}

/**
 * Sends a process-request job inside the caller's transaction. `attempt` > 0 is a retry
 * scheduled by the request processor; each attempt has its own deterministic job id.
 */
export async function sendProcessRequest(
  boss: PgBoss,
  tx: Parameters<typeof fromDrizzle>[0],
  requestId: string,
  opts: { priority: number; model: string; attempt?: number; startAfter?: Date },
): Promise<void> {
  const payload: ProcessRequestPayload = { requestId };
  await boss.send(QUEUES.processRequest, payload, {
    id: processRequestJobId(requestId, opts.attempt ?? 0),
    priority: opts.priority,
    group: { id: opts.model, tier: opts.model },
    ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
    db: fromDrizzle(tx, sql),
  });
}

/** The id of the process-request job for `attempt` (0-based) of a request. */
export function processRequestJobId(requestId: string, attempt: number): string {
  return jobId(QUEUES.processRequest, attempt === 0 ? requestId : `${requestId}#${attempt}`);
}
