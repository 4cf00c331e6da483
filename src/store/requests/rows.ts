import { sql, type SQL } from 'drizzle-orm';
import { NOTIFY_IDS_PER_MESSAGE, TERMINAL_CHANNEL } from '../../db/channels.ts';
import { isTerminal, type RequestRow } from '../../db/schema/index.ts';

/**
 * What every operation on `requests` shares: the row mapping, the terminal-state SQL and the
 * terminal NOTIFY. Every write that makes a row terminal guards on the current state in its
 * SQL and sends the terminal NOTIFY in the same statement, so waiters wake exactly when the
 * change commits.
 */

/** A request joined with its batch of one (owner, completion window). */
export type RequestDetail = RequestRow & { completionWindow: string | null };

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
export function uniqueSorted<T extends { requestId: string }>(items: readonly T[]): T[] {
  const byId = new Map<string, T>();
  for (const item of items) if (!byId.has(item.requestId)) byId.set(item.requestId, item);
  return [...byId.values()].sort((a, b) => (a.requestId < b.requestId ? -1 : a.requestId > b.requestId ? 1 : 0));
}


export { isTerminal };

/** The fields of a request that the request log shows (request-log.ts reads only their columns). */
export type LoggedFields = Pick<RequestRow,
  | 'id' | 'state' | 'endpoint' | 'model' | 'serviceTier' | 'servedServiceTier' | 'background' | 'store' | 'createdBy'
  | 'apiKeyId' | 'responseStatus' | 'error' | 'promptTokens' | 'completionTokens' | 'totalTokens' | 'cachedTokens'
  | 'reasoningTokens' | 'durationMs' | 'ttftMs' | 'queueDelayMs' | 'finishReason' | 'upstreamModel' | 'metadata'
  | 'endUser' | 'previousRequestId' | 'createdAt'>;

const date = (v: unknown) => (v == null ? null : v instanceof Date ? v : new Date(String(v)));
const num = (v: unknown) => (v == null ? null : Number(v));

/**
 * Raw SQL rows come back snake_case; this and toRequestRow below are the one place that maps
 * them. The log's fields alone serve the request log, whose export reads millions of rows and
 * so selects (and parses) only the columns it shows.
 */
export function toLoggedFields(r: Record<string, unknown>): LoggedFields {
  return {
    id: r.id as string,
    state: r.state as RequestRow['state'],
    endpoint: r.endpoint as string,
    model: r.model as string,
    serviceTier: r.service_tier as RequestRow['serviceTier'],
    servedServiceTier: (r.served_service_tier as string | null) ?? null,
    background: r.background as boolean,
    store: r.store === undefined ? true : (r.store as boolean),
    createdBy: r.created_by as string,
    apiKeyId: (r.api_key_id as string | null) ?? null,
    responseStatus: (r.response_status as number | null) ?? null,
    error: (r.error as string | null) ?? null,
    promptTokens: (r.prompt_tokens as number | null) ?? null,
    completionTokens: (r.completion_tokens as number | null) ?? null,
    totalTokens: (r.total_tokens as number | null) ?? null,
    cachedTokens: num(r.cached_tokens),
    reasoningTokens: num(r.reasoning_tokens),
    durationMs: num(r.duration_ms),
    ttftMs: num(r.ttft_ms),
    queueDelayMs: num(r.queue_delay_ms),
    finishReason: (r.finish_reason as string | null) ?? null,
    upstreamModel: (r.upstream_model as string | null) ?? null,
    metadata: (r.metadata as Record<string, string> | null) ?? null,
    endUser: (r.end_user as string | null) ?? null,
    previousRequestId: (r.previous_request_id as string | null) ?? null,
    createdAt: date(r.created_at)!,
  };
}

/** A whole request row (`r.*` or RETURNING *). */
export function toRequestRow(r: Record<string, unknown>): RequestRow {
  return {
    ...toLoggedFields(r),
    batchId: r.batch_id as string,
    body: r.body as string,
    responseBody: (r.response_body as string | null) ?? null,
    retryAttempt: r.retry_attempt as number,
    notBefore: date(r.not_before),
    claimedAt: date(r.claimed_at),
    startedAt: date(r.started_at),
    completedAt: date(r.completed_at),
    failedAt: date(r.failed_at),
    canceledAt: date(r.canceled_at),
    deletedAt: date(r.deleted_at),
    expiresAt: date(r.expires_at),
    responseSize: num(r.response_size),
    receivedAt: date(r.received_at),
    upstreamStartedAt: date(r.upstream_started_at),
    firstByteAt: date(r.first_byte_at),
    finishedAt: date(r.finished_at),
    searchText: (r.search_text as string | null) ?? null,
    updatedAt: date(r.updated_at)!,
  };
}

/** A row read with `r.*, b.completion_window`. */
export function toRequestDetail(row: Record<string, unknown>): RequestDetail {
  return { ...toRequestRow(row), completionWindow: (row.completion_window as string | null) ?? null };
}
