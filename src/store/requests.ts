import { eq, sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { PreparedStatement } from '../db/prepared.ts';
import { requests, type RequestRow, type ServiceTier, isTerminal } from '../db/schema/index.ts';
import { RequestNotFound, RequestStateConflict } from '../errors.ts';
import { NOTIFY_IDS_PER_MESSAGE, TERMINAL_CHANNEL } from '../db/channels.ts';
import { nonRetriableHttpStatus, serializeFailureReason } from '../responses/failure-reason.ts';
import { extractUsage } from '../responses/usage.ts';

/**
 * Operations on `requests` (and the batch-of-1 `batches` row each request owns). Every
 * write that makes a row terminal guards on the current state in its SQL and sends the
 * terminal NOTIFY in the same statement, so waiters wake exactly when the change commits.
 */

export type RequestDetail = RequestRow & { completionWindow: string | null };

export interface NewRequest {
  requestId: string;
  batchId: string;
  endpoint: string;
  model: string;
  serviceTier: ServiceTier;
  background: boolean;
  body: string;
  createdBy: string;
  apiKeyId: string | null;
  state: 'pending' | 'processing';
  /** '0s' for realtime, '10m' background, '1h' flex, … */
  completionWindow: string;
  expiresAt: Date | null;
}

/** What complete-response knows: enough to create the row if create-response never ran. */
export interface RealtimeCompletion {
  requestId: string;
  batchId: string;
  endpoint: string;
  model: string;
  serviceTier: ServiceTier;
  requestBody: string;
  createdBy: string;
  apiKeyId: string | null;
  statusCode: number;
  responseBody: string;
  startedAt: Date;
  finishedAt: Date;
}

export type CompletionOutcome = 'changed' | 'already-terminal';

export const TERMINAL_SQL = sql.raw(`('completed', 'failed', 'canceled')`);

/**
 * Wraps a data-modifying statement whose RETURNING yields `id` so that the ids it made
 * terminal are announced on TERMINAL_CHANNEL, chunked to fit NOTIFY's payload limit.
 * Referencing `notified` from the final SELECT forces the NOTIFY to run.
 */
export function withTerminalNotify(changed: SQL, prefix: SQL = sql``): SQL {
  return sql`WITH ${prefix} changed AS (${changed}),
    notified AS (
      SELECT pg_notify(${TERMINAL_CHANNEL}, string_agg(id::text, ','))
      FROM (SELECT id, (row_number() OVER () - 1) / ${NOTIFY_IDS_PER_MESSAGE} AS chunk FROM changed) c
      GROUP BY chunk
    )
    SELECT changed.* FROM changed WHERE (SELECT count(*) FROM notified) >= 0`;
}

/** Sorting by id gives every batched writer the same lock order, so two batches cannot deadlock. */
function uniqueSorted<T extends { requestId: string }>(items: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const item of items) if (!byId.has(item.requestId)) byId.set(item.requestId, item);
  return [...byId.values()].sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
}

/**
 * Inserts batch-of-1 rows and their requests in one statement. `ON CONFLICT DO NOTHING` on
 * both tables: re-running is a no-op and never downgrades a row that exists in any state
 * (complete-response may have made it terminal first). Returns the ids it inserted.
 */
export async function createSingleRequestBatches(db: Executor, items: readonly NewRequest[]): Promise<Set<string>> {
  const rows = uniqueSorted(items);
  if (rows.length === 0) return new Set();
  if (rows.length === 1) {
    // The common case off-peak (sequential requests): plain VALUES plan and execute in
    // about 60% of the time unnest takes for one row.
    const r = rows[0]!;
    const inserted = await CREATE_ONE_REQUEST_BATCH.run<{ id: string }>(db, {
      ...r,
      expiresAt: r.expiresAt?.toISOString() ?? null,
    });
    return new Set(inserted.map((row) => row.id));
  }
  const col = <K extends keyof NewRequest>(k: K) => rows.map((r) => r[k]);
  const inserted = await CREATE_SINGLE_REQUEST_BATCHES.run<{ id: string }>(db, {
    id: col('requestId'),
    batchId: col('batchId'),
    state: col('state'),
    endpoint: col('endpoint'),
    model: col('model'),
    serviceTier: col('serviceTier'),
    background: col('background'),
    body: col('body'),
    createdBy: col('createdBy'),
    apiKeyId: col('apiKeyId'),
    completionWindow: col('completionWindow'),
    expiresAt: rows.map((r) => r.expiresAt?.toISOString() ?? null),
  });
  return new Set(inserted.map((r) => r.id));
}

const p = (name: string) => sql.placeholder(name);

/** CREATE_SINGLE_REQUEST_BATCHES for one row, with the same locking order. */
const CREATE_ONE_REQUEST_BATCH = new PreparedStatement<Record<string, unknown>>(
  'volley_create_one_request_batch',
  sql`
    WITH new_batch AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window, expires_at)
      VALUES (${p('batchId')}::uuid, ${p('createdBy')}::uuid, ${p('endpoint')}, ${p('completionWindow')},
              ${p('expiresAt')}::timestamptz)
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
                          started_at, expires_at)
    SELECT ${p('requestId')}::uuid, ${p('batchId')}::uuid, ${p('state')}::text, ${p('endpoint')}, ${p('model')},
           ${p('serviceTier')}, ${p('background')}::boolean, ${p('body')}, ${p('createdBy')}::uuid, ${p('apiKeyId')}::uuid,
           CASE WHEN ${p('state')}::text = 'processing' THEN now() END, ${p('expiresAt')}::timestamptz
    WHERE (SELECT count(*) FROM new_batch) >= 0
    ON CONFLICT (id) DO NOTHING
    RETURNING id`,
);

const CREATE_SINGLE_REQUEST_BATCHES = new PreparedStatement<Record<string, unknown[]>>(
  'volley_create_single_request_batches',
  sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${p('id')}::uuid[], ${p('batchId')}::uuid[], ${p('state')}::text[], ${p('endpoint')}::text[],
        ${p('model')}::text[], ${p('serviceTier')}::text[], ${p('background')}::boolean[], ${p('body')}::text[],
        ${p('createdBy')}::uuid[], ${p('apiKeyId')}::uuid[], ${p('completionWindow')}::text[], ${p('expiresAt')}::timestamptz[]
      ) AS t(id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id, completion_window, expires_at)
    ),
    -- Batches first (the InitPlan below runs this to completion before any request row):
    -- every writer takes batch locks before request locks, in id order.
    new_batches AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window, expires_at)
      SELECT batch_id, created_by, endpoint, completion_window, expires_at FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
                          started_at, expires_at)
    SELECT id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
           CASE WHEN state = 'processing' THEN now() END, expires_at
    FROM input WHERE (SELECT count(*) FROM new_batches) >= 0
    ON CONFLICT (id) DO NOTHING
    RETURNING id`,
);

/** One batch-of-1 row; returns whether it inserted (false: the row already existed). */
export async function createSingleRequestBatch(db: Executor, item: NewRequest): Promise<boolean> {
  return (await createSingleRequestBatches(db, [item])).has(item.requestId);
}

/**
 * What complete-response runs: create each row if it is missing and make it terminal, in
 * one statement (one transaction), treating "already terminal" as success. A single upsert
 * replaces the reference's update/insert/update sequence, so there is no window in which a
 * concurrent create-response could slip in between.
 */
export async function completeResponsesIdempotent(
  db: Executor,
  items: readonly RealtimeCompletion[],
): Promise<Map<string, CompletionOutcome>> {
  const rows = uniqueSorted(items).map((r) => {
    const usage = r.statusCode < 400 ? extractUsage(r.responseBody) : undefined;
    return {
      ...r,
      state: r.statusCode < 400 ? 'completed' : 'failed',
      error: r.statusCode < 400 ? null : serializeFailureReason(nonRetriableHttpStatus(r.statusCode, r.responseBody)),
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      totalTokens: usage?.totalTokens ?? null,
      responseSize: Buffer.byteLength(r.responseBody),
      startedAtIso: r.startedAt.toISOString(),
      finishedAtIso: r.finishedAt.toISOString(),
    };
  });
  if (rows.length === 0) return new Map();
  type Row = (typeof rows)[number];
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  const changedRows = await COMPLETE_RESPONSES.run<{ id: string }>(db, {
    id: col('requestId'),
    batchId: col('batchId'),
    endpoint: col('endpoint'),
    model: col('model'),
    serviceTier: col('serviceTier'),
    body: col('requestBody'),
    createdBy: col('createdBy'),
    apiKeyId: col('apiKeyId'),
    status: col('statusCode'),
    responseBody: col('responseBody'),
    state: col('state'),
    error: col('error'),
    startedAt: col('startedAtIso'),
    finishedAt: col('finishedAtIso'),
    promptTokens: col('promptTokens'),
    completionTokens: col('completionTokens'),
    totalTokens: col('totalTokens'),
    responseSize: col('responseSize'),
  });
  const changed = new Set(changedRows.map((r) => r.id));
  return new Map(rows.map((r) => [r.requestId, changed.has(r.requestId) ? 'changed' : 'already-terminal']));
}

const COMPLETE_RESPONSES = new PreparedStatement<Record<string, unknown[]>>(
  'volley_complete_responses',
  withTerminalNotify(
    sql`
    INSERT INTO requests AS r (id, batch_id, state, endpoint, model, service_tier, body, created_by, api_key_id,
                               response_status, response_body, error, started_at, completed_at, failed_at,
                               prompt_tokens, completion_tokens, total_tokens, response_size)
    SELECT id, batch_id, state, endpoint, model, service_tier, body, created_by, api_key_id,
           response_status, response_body, error, started_at,
           CASE WHEN state = 'completed' THEN finished_at END, CASE WHEN state = 'failed' THEN finished_at END,
           prompt_tokens, completion_tokens, total_tokens, response_size
    FROM input WHERE (SELECT count(*) FROM new_batches) >= 0
    ON CONFLICT (id) DO UPDATE SET
      state = excluded.state,
      response_status = excluded.response_status,
      response_body = excluded.response_body,
      error = excluded.error,
      started_at = COALESCE(r.started_at, excluded.started_at),
      completed_at = excluded.completed_at,
      failed_at = excluded.failed_at,
      prompt_tokens = excluded.prompt_tokens,
      completion_tokens = excluded.completion_tokens,
      total_tokens = excluded.total_tokens,
      response_size = excluded.response_size,
      updated_at = now()
    WHERE r.state NOT IN ${TERMINAL_SQL}
    RETURNING r.id`,
    sql`input AS (
      SELECT * FROM unnest(
        ${p('id')}::uuid[], ${p('batchId')}::uuid[], ${p('endpoint')}::text[], ${p('model')}::text[],
        ${p('serviceTier')}::text[], ${p('body')}::text[], ${p('createdBy')}::uuid[], ${p('apiKeyId')}::uuid[],
        ${p('status')}::smallint[], ${p('responseBody')}::text[], ${p('state')}::text[], ${p('error')}::text[],
        ${p('startedAt')}::timestamptz[], ${p('finishedAt')}::timestamptz[], ${p('promptTokens')}::int[],
        ${p('completionTokens')}::int[], ${p('totalTokens')}::int[], ${p('responseSize')}::bigint[]
      ) AS t(id, batch_id, endpoint, model, service_tier, body, created_by, api_key_id, response_status, response_body,
             state, error, started_at, finished_at, prompt_tokens, completion_tokens, total_tokens, response_size)
    ),
    new_batches AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window)
      SELECT batch_id, created_by, endpoint, '0s' FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    ),`,
  ),
);

export async function completeResponseIdempotent(db: Executor, item: RealtimeCompletion): Promise<CompletionOutcome> {
  return (await completeResponsesIdempotent(db, [item])).get(item.requestId)!;
}

/** Runs a guarded terminal UPDATE; maps "no row changed" to the typed error that explains why. */
async function terminalTransition(db: Executor, id: string, set: SQL): Promise<RequestRow> {
  const result = await db.execute<Record<string, unknown>>(
    withTerminalNotify(sql`UPDATE requests SET ${set}, updated_at = now()
      WHERE id = ${id} AND state NOT IN ${TERMINAL_SQL} RETURNING *`),
  );
  const row = result.rows[0];
  if (row) return toRequestRow(row);
  const current = await db.select({ state: requests.state }).from(requests).where(eq(requests.id, id));
  if (!current[0]) throw new RequestNotFound(id);
  throw new RequestStateConflict(id, current[0].state);
}

/**
 * Moves a non-terminal row to terminal: 2xx → completed (usage extracted); >= 400 → failed
 * with the status and body kept and a NonRetriableHttpStatus reason.
 * @throws RequestNotFound, RequestStateConflict (the row is already terminal)
 */
export async function completeRequest(db: Executor, id: string, status: number, body: string): Promise<RequestRow> {
  if (status >= 400) {
    const reason = serializeFailureReason(nonRetriableHttpStatus(status, body));
    return terminalTransition(
      db,
      id,
      sql`state = 'failed', response_status = ${status}, response_body = ${body}, error = ${reason}, failed_at = now(),
          response_size = ${Buffer.byteLength(body)}`,
    );
  }
  const usage = extractUsage(body);
  return terminalTransition(
    db,
    id,
    sql`state = 'completed', response_status = ${status}, response_body = ${body}, completed_at = now(),
        prompt_tokens = ${usage?.promptTokens ?? null}, completion_tokens = ${usage?.completionTokens ?? null},
        total_tokens = ${usage?.totalTokens ?? null}, response_size = ${Buffer.byteLength(body)}`,
  );
}

/**
 * Non-terminal → failed with a FailureReason (its JSON, see responses/failure-reason.ts).
 * @throws RequestNotFound, RequestStateConflict
 */
export async function failRequest(db: Executor, id: string, reason: string): Promise<RequestRow> {
  return terminalTransition(db, id, sql`state = 'failed', error = ${reason}, failed_at = now()`);
}

export async function requestExists(db: Executor, id: string): Promise<boolean> {
  const rows = await db.select({ id: requests.id }).from(requests).where(eq(requests.id, id));
  return rows.length > 0;
}

/** The request joined with its batch (owner, completion window), or undefined. */
export async function findRequestDetail(db: Executor, id: string): Promise<RequestDetail | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT r.*, b.completion_window FROM requests r LEFT JOIN batches b ON b.id = r.batch_id WHERE r.id = ${id}`);
  const row = result.rows[0];
  return row ? { ...toRequestRow(row), completionWindow: (row.completion_window as string | null) ?? null } : undefined;
}

/** Several requests with their batch, for the poller's batched checks. */
export async function findRequestDetails(db: Executor, ids: readonly string[]): Promise<RequestDetail[]> {
  if (ids.length === 0) return [];
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT r.*, b.completion_window FROM requests r LEFT JOIN batches b ON b.id = r.batch_id
    WHERE r.id = ANY(${sql.param(ids)}::uuid[])`);
  return result.rows.map((row) => ({ ...toRequestRow(row), completionWindow: (row.completion_window as string | null) ?? null }));
}

/** @throws RequestNotFound */
export async function getRequestDetail(db: Executor, id: string): Promise<RequestDetail> {
  const detail = await findRequestDetail(db, id);
  if (!detail) throw new RequestNotFound(id);
  return detail;
}

/** Soft delete: hidden from its owner, kept for analytics. True when this call deleted it. */
export async function markRequestDeleted(db: Executor, id: string): Promise<boolean> {
  const result = await db.execute(
    sql`UPDATE requests SET deleted_at = now(), updated_at = now() WHERE id = ${id} AND deleted_at IS NULL RETURNING id`,
  );
  return result.rows.length > 0;
}

export { isTerminal };

/** Raw SQL rows come back snake_case; this is the one place that maps them to RequestRow. */
export function toRequestRow(r: Record<string, unknown>): RequestRow {
  const date = (v: unknown) => (v == null ? null : v instanceof Date ? v : new Date(String(v)));
  return {
    id: r.id as string,
    batchId: r.batch_id as string,
    state: r.state as RequestRow['state'],
    endpoint: r.endpoint as string,
    model: r.model as string,
    serviceTier: r.service_tier as RequestRow['serviceTier'],
    background: r.background as boolean,
    body: r.body as string,
    createdBy: r.created_by as string,
    apiKeyId: (r.api_key_id as string | null) ?? null,
    responseStatus: (r.response_status as number | null) ?? null,
    responseBody: (r.response_body as string | null) ?? null,
    error: (r.error as string | null) ?? null,
    retryAttempt: r.retry_attempt as number,
    notBefore: date(r.not_before),
    claimedAt: date(r.claimed_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    failedAt: date(r.failed_at),
    canceledAt: date(r.canceled_at),
    deletedAt: date(r.deleted_at),
    expiresAt: date(r.expires_at),
    promptTokens: (r.prompt_tokens as number | null) ?? null,
    completionTokens: (r.completion_tokens as number | null) ?? null,
    totalTokens: (r.total_tokens as number | null) ?? null,
    responseSize: r.response_size == null ? null : Number(r.response_size),
    createdAt: date(r.created_at)!,
    updatedAt: date(r.updated_at)!,
  };
}
