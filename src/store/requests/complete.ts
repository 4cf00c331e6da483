import { eq, sql, type SQL } from 'drizzle-orm';
import type { RecordMetrics } from '../../metrics.ts';
import type { Executor } from '../../db/client.ts';
import { PreparedStatement } from '../../db/prepared.ts';
import { requests, type RequestRow, type ServiceTier } from '../../db/schema/index.ts';
import { RequestNotFound, RequestStateConflict } from '../../errors.ts';
import { nonRetriableHttpStatus, recordRejected, serializeFailureReason, trackingLost, type FailureReason } from '../../responses/failure-reason.ts';
import { storableRecord, storableText } from '../../responses/storable.ts';
import { answerFacts, requestFacts, searchText, type RecordFacts } from '../../responses/record-facts.ts';
import { extractUsage, type Usage } from '../../responses/usage.ts';
import { TERMINAL_SQL, toRequestRow, uniqueSorted, withTerminalNotify } from './rows.ts';

/** Making rows terminal: complete-response's upsert, and the guarded transitions of DESIGN 3. */

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
  /** The record was refused as it was (store/isolate.ts): it is stored failed, without bodies. */
  rejected?: { stage: 'enqueue' | 'store'; code: string };
  startedAt: Date;
  finishedAt: Date;
  previousRequestId?: string | null;
  /** false: `store: false`, the bodies are empty and `usage` carries the counts. */
  store?: boolean;
  /** Token counts measured by the gateway (store: false leaves no body to read them from). */
  usage?: Usage;
  /** What the gateway measured, epoch ms (DESIGN 12). */
  timings?: RecordTimings;
  /** The x-volley-metadata header's map. */
  headerMetadata?: Record<string, string>;
  /** store: false: the facts the gateway read before dropping the bodies. */
  facts?: Omit<RecordFacts, keyof Usage>;
}

export interface RecordTimings {
  receivedAt: number;
  upstreamStartedAt: number | null;
  firstByteAt: number | null;
  finishedAt: number;
  streamed: boolean;
}

const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

/** The analytics columns of a realtime record: its timings and what its bodies say. */
function analyticsColumns(r: RealtimeCompletion, ok: boolean) {
  const t = r.timings;
  const read = ok && !r.facts ? answerFacts(r.responseBody) : undefined;
  const answer = r.facts ?? read;
  const request = r.facts ?? requestFacts(r.requestBody, r.headerMetadata);
  const usage = ok ? (r.usage ?? read) : undefined;
  return {
    receivedAt: iso(t?.receivedAt) ?? r.startedAt.toISOString(),
    upstreamStartedAt: iso(t?.upstreamStartedAt),
    firstByteAt: iso(t?.firstByteAt),
    durationMs: t ? t.finishedAt - t.receivedAt : r.finishedAt.getTime() - r.startedAt.getTime(),
    ttftMs: t?.streamed && t.firstByteAt !== null ? t.firstByteAt - t.receivedAt : null,
    promptTokens: usage?.promptTokens ?? null,
    completionTokens: usage?.completionTokens ?? null,
    totalTokens: usage?.totalTokens ?? null,
    cachedTokens: answer?.cachedTokens ?? null,
    reasoningTokens: answer?.reasoningTokens ?? null,
    finishReason: answer?.finishReason ?? null,
    servedServiceTier: answer?.servedServiceTier ?? null,
    upstreamModel: answer?.upstreamModel ?? null,
    metadata: request.metadata === null ? null : JSON.stringify(request.metadata),
    endUser: request.endUser,
    searchText: r.store === false || r.rejected ? null : searchText(r.requestBody, r.responseBody),
  };
}

export type CompletionOutcome = 'changed' | 'already-terminal';


const p = (name: string) => sql.placeholder(name);

/** The `error` the sweeper writes; the one terminal value complete-response may overwrite. */
const TRACKING_LOST = serializeFailureReason(trackingLost());

/**
 * What complete-response runs: create each row if it is missing and make it terminal, in
 * one statement (one transaction), treating "already terminal" as success. A row the sweeper
 * failed as TrackingLost is the exception: the late record wins. A single upsert
 * replaces the reference's update/insert/update sequence, so there is no window in which a
 * concurrent create-response could slip in between.
 */
export async function completeResponsesIdempotent(
  db: Executor,
  items: readonly RealtimeCompletion[],
  onWritten?: (written: RecordMetrics & { finishedAt: number }) => void,
): Promise<Map<string, CompletionOutcome>> {
  // Sanitised here, the last place before the statement: one NUL byte must not fail the batch.
  const rows = uniqueSorted(items).map(storableRecord).map((r) => {
    const ok = r.statusCode < 400 && r.rejected === undefined;
    return {
      ...r,
      ...analyticsColumns(r, ok),
      state: ok ? 'completed' : 'failed',
      error: ok ? null : serializeFailureReason(failureOf(r)),
      responseSize: Buffer.byteLength(r.responseBody),
      startedAtIso: r.startedAt.toISOString(),
      finishedAtIso: r.finishedAt.toISOString(),
      previousRequestId: r.previousRequestId ?? null,
      store: r.store ?? true,
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
    previousRequestId: col('previousRequestId'),
    store: col('store'),
    receivedAt: col('receivedAt'),
    upstreamStartedAt: col('upstreamStartedAt'),
    firstByteAt: col('firstByteAt'),
    durationMs: col('durationMs'),
    ttftMs: col('ttftMs'),
    cachedTokens: col('cachedTokens'),
    reasoningTokens: col('reasoningTokens'),
    finishReason: col('finishReason'),
    servedServiceTier: col('servedServiceTier'),
    upstreamModel: col('upstreamModel'),
    metadata: col('metadata'),
    endUser: col('endUser'),
    searchText: col('searchText'),
  });
  const changed = new Set(changedRows.map((r) => r.id));
  if (onWritten) {
    for (const r of rows) {
      if (!changed.has(r.requestId)) continue;
      onWritten({
        model: r.model,
        endpoint: r.endpoint,
        status: r.state === 'completed' ? 'completed' : 'failed',
        inputTokens: r.promptTokens,
        outputTokens: r.completionTokens,
        durationMs: r.durationMs,
        ttftMs: r.ttftMs,
        finishedAt: r.timings?.finishedAt ?? r.finishedAt.getTime(),
      });
    }
  }
  return new Map(rows.map((r) => [r.requestId, changed.has(r.requestId) ? 'changed' : 'already-terminal']));
}

const COMPLETE_RESPONSES = new PreparedStatement<Record<string, unknown[]>>(
  'volley_complete_responses',
  withTerminalNotify(
    sql`
    INSERT INTO requests AS r (id, batch_id, state, endpoint, model, service_tier, body, created_by, api_key_id,
                               response_status, response_body, error, started_at, completed_at, failed_at,
                               prompt_tokens, completion_tokens, total_tokens, response_size, previous_request_id, store,
                               received_at, upstream_started_at, first_byte_at, finished_at, duration_ms, ttft_ms,
                               cached_tokens, reasoning_tokens, finish_reason, served_service_tier, upstream_model,
                               metadata, end_user, search_text)
    SELECT id, batch_id, state, endpoint, model, service_tier, body, created_by, api_key_id,
           response_status, response_body, error, started_at,
           CASE WHEN state = 'completed' THEN finished_at END, CASE WHEN state = 'failed' THEN finished_at END,
           prompt_tokens, completion_tokens, total_tokens, response_size, previous_request_id, store,
           received_at, upstream_started_at, first_byte_at, finished_at, duration_ms, ttft_ms,
           cached_tokens, reasoning_tokens, finish_reason, served_service_tier, upstream_model,
           metadata::jsonb, end_user, search_text
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
      received_at = COALESCE(excluded.received_at, r.received_at),
      upstream_started_at = excluded.upstream_started_at,
      first_byte_at = excluded.first_byte_at,
      finished_at = excluded.finished_at,
      duration_ms = excluded.duration_ms,
      ttft_ms = excluded.ttft_ms,
      cached_tokens = excluded.cached_tokens,
      reasoning_tokens = excluded.reasoning_tokens,
      finish_reason = excluded.finish_reason,
      served_service_tier = excluded.served_service_tier,
      upstream_model = excluded.upstream_model,
      metadata = excluded.metadata,
      end_user = excluded.end_user,
      search_text = excluded.search_text,
      -- store: false keeps no body, whichever write came first.
      body = CASE WHEN excluded.store THEN r.body ELSE '' END,
      store = r.store AND excluded.store,
      updated_at = now()
    -- A late record wins over the sweeper (DESIGN 13): a row swept as TrackingLost (nobody
    -- had finished it) becomes what its complete-response says. No other terminal row moves.
    WHERE r.state NOT IN ${TERMINAL_SQL} OR (r.state = 'failed' AND r.error = ${TRACKING_LOST})
    RETURNING r.id`,
    sql`input AS (
      SELECT * FROM unnest(
        ${p('id')}::uuid[], ${p('batchId')}::uuid[], ${p('endpoint')}::text[], ${p('model')}::text[],
        ${p('serviceTier')}::text[], ${p('body')}::text[], ${p('createdBy')}::uuid[], ${p('apiKeyId')}::uuid[],
        ${p('status')}::smallint[], ${p('responseBody')}::text[], ${p('state')}::text[], ${p('error')}::text[],
        ${p('startedAt')}::timestamptz[], ${p('finishedAt')}::timestamptz[], ${p('promptTokens')}::int[],
        ${p('completionTokens')}::int[], ${p('totalTokens')}::int[], ${p('responseSize')}::bigint[],
        ${p('previousRequestId')}::uuid[], ${p('store')}::boolean[], ${p('receivedAt')}::timestamptz[],
        ${p('upstreamStartedAt')}::timestamptz[], ${p('firstByteAt')}::timestamptz[], ${p('durationMs')}::float8[],
        ${p('ttftMs')}::float8[], ${p('cachedTokens')}::int[], ${p('reasoningTokens')}::int[], ${p('finishReason')}::text[],
        ${p('servedServiceTier')}::text[], ${p('upstreamModel')}::text[], ${p('metadata')}::text[], ${p('endUser')}::text[],
        ${p('searchText')}::text[]
      ) AS t(id, batch_id, endpoint, model, service_tier, body, created_by, api_key_id, response_status, response_body,
             state, error, started_at, finished_at, prompt_tokens, completion_tokens, total_tokens, response_size,
             previous_request_id, store, received_at, upstream_started_at, first_byte_at, duration_ms, ttft_ms,
             cached_tokens, reasoning_tokens, finish_reason, served_service_tier, upstream_model, metadata, end_user,
             search_text)
    ),
    new_batches AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window)
      SELECT batch_id, created_by, endpoint, '0s' FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    ),`,
  ),
);

function failureOf(r: RealtimeCompletion): FailureReason {
  if (r.rejected) return recordRejected({ ...r.rejected, status: r.statusCode });
  return nonRetriableHttpStatus(r.statusCode, r.responseBody);
}

/**
 * A completion refused as it was, as it is stored instead: failed with its reason, without
 * the values it brought (bodies, and its times, replaced by the time of writing), keeping
 * what identifies it (ids, owner, model, status).
 */
export function rejectedCompletion(r: RealtimeCompletion, stage: 'enqueue' | 'store', code: string): RealtimeCompletion {
  const now = new Date();
  return { ...r, requestBody: '', responseBody: '', startedAt: now, finishedAt: now, rejected: { stage, code } };
}

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
export async function completeRequest(db: Executor, id: string, status: number, answer: string): Promise<RequestRow> {
  const body = storableText(answer);
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

