import type { Db as BossDatabase, PgBoss } from 'pg-boss';
import { jobId } from '../ids.ts';
import { Coalescer } from '../lib/coalescer.ts';
import { storableRecord } from '../responses/storable.ts';
import { writeIsolated } from '../store/isolate.ts';
import {
  MAX_ENVELOPE_RECORDS,
  MAX_ENVELOPE_TEXT,
  QUEUES,
  type TrackingQueue,
  type CompleteResponsePayload,
  type CreateResponsePayload,
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

  /**
   * Inserts one flush. The job table keeps payloads as jsonb, which refuses a NUL character:
   * records are made storable first, and a record it still refuses is inserted alone,
   * without its bodies (complete-response then records it failed, RecordRejected), so its
   * flush-mates are stored (DESIGN 13).
   */
  async #insert(queue: TrackingQueue, items: { requestId: string }[], db?: BossDatabase) {
    const insert = async (records: { requestId: string }[]) => {
      await this.#boss.insert(queue, trackingJobs(queue, records), db ? { db } : {});
      return [];
    };
    await writeIsolated(items.map(storableRecord), insert, (record, code) => withoutBodies(queue, record, code));
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

/** A tracking record as it is enqueued when the job table refused it as it was. */
function withoutBodies(queue: TrackingQueue, record: { requestId: string }, code: string): { requestId: string } {
  if (queue === QUEUES.createResponse) return { ...record, body: '' } as { requestId: string };
  return { ...record, requestBody: '', responseBody: '', rejected: { stage: 'enqueue', code } } as { requestId: string };
}
