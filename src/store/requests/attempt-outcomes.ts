import type { RecordMetrics } from '../../metrics.ts';
import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { PreparedStatement } from '../../db/prepared.ts';
import type { RequestRow } from '../../db/schema/index.ts';
import { serializeFailureReason, type FailureReason } from '../../responses/failure-reason.ts';
import { storableText } from '../../responses/storable.ts';
import { answerFacts, searchText } from '../../responses/record-facts.ts';
import { extractUsage } from '../../responses/usage.ts';
import type { AttemptClaim } from './attempt-claims.ts';
import { toRequestRow, withTerminalNotify } from './rows.ts';

/**
 * How a claimed attempt ends (see attempt-claims.ts for the state machine and the fence):
 * handed back, completed, failed, or sent back to `pending` for the next attempt. Every
 * write matches the attempt's claim, so a stale run changes nothing.
 */

const ATTEMPT_GUARD = (claim: AttemptClaim) =>
  sql`id = ${claim.requestId} AND state = 'processing' AND retry_attempt = ${claim.attempt}
      AND claimed_at = ${claim.token}::timestamptz`;

const p = (name: string) => sql.placeholder(name);

/**
 * Hands an attempt back without an outcome (its run is stopping, or lost its job): back to
 * `pending` under the same attempt, so the model's slot frees at once and the job's next
 * run claims it normally. Undefined when the attempt no longer holds the row.
 */
export async function releaseRequestAttempt(db: Executor, claim: AttemptClaim): Promise<RequestRow | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    UPDATE requests SET state = 'pending', claimed_at = NULL, updated_at = now()
    WHERE ${ATTEMPT_GUARD(claim)}
    RETURNING *`);
  const row = result.rows[0];
  return row ? toRequestRow(row) : undefined;
}

async function terminalWrite(db: Executor, claim: AttemptClaim, set: SQL): Promise<RequestRow | undefined> {
  const result = await db.execute<Record<string, unknown>>(
    withTerminalNotify(sql`UPDATE requests SET ${set}, updated_at = now() WHERE ${ATTEMPT_GUARD(claim)} RETURNING *`),
  );
  const row = result.rows[0];
  return row ? toRequestRow(row) : undefined;
}

/**
 * The attempt's upstream answered 2xx: `completed`, usage extracted, any earlier attempt's
 * error cleared. Undefined when the attempt no longer holds the row (canceled meanwhile, or
 * taken over): the answer is dropped, the row keeps what it has.
 */
export async function completeRequestAttempt(
  db: Executor,
  claim: AttemptClaim,
  status: number,
  answer: string,
): Promise<RequestRow | undefined> {
  const body = storableText(answer);
  const usage = extractUsage(body);
  return terminalWrite(
    db,
    claim,
    sql`state = 'completed', response_status = ${status}, response_body = ${body}, error = NULL,
        completed_at = now(), prompt_tokens = ${usage?.promptTokens ?? null},
        completion_tokens = ${usage?.completionTokens ?? null}, total_tokens = ${usage?.totalTokens ?? null},
        response_size = ${Buffer.byteLength(body)}`,
  );
}

/**
 * The attempt ends the request as `failed` with `reason`. `http` keeps the upstream's status
 * and body when the failure was an HTTP answer. Undefined when the attempt no longer holds
 * the row.
 */
export async function failRequestAttempt(
  db: Executor,
  claim: AttemptClaim,
  reason: FailureReason,
  answer?: { status: number; body: string },
): Promise<RequestRow | undefined> {
  const http = answer && { status: answer.status, body: storableText(answer.body) };
  return terminalWrite(
    db,
    claim,
    sql`state = 'failed', error = ${serializeFailureReason(reason)}, failed_at = now(),
        response_status = ${http?.status ?? null}, response_body = ${http?.body ?? null},
        response_size = ${http ? Buffer.byteLength(http.body) : null}`,
  );
}

/** When an attempt's upstream call started and its answer's first byte came (epoch ms). */
export interface AttemptTiming {
  upstreamStartedAt: number;
  firstByteAt: number | null;
}

/**
 * One attempt's terminal outcome, for finishRequestAttempts. `timing` and `requestBody` (for
 * search) are there once the attempt called the upstream.
 */
export type AttemptOutcome = (
  | { claim: AttemptClaim; state: 'completed'; status: number; body: string }
  | { claim: AttemptClaim; state: 'failed'; reason: FailureReason; http?: { status: number; body: string } }
) & {
  timing?: AttemptTiming;
  requestBody?: string;
  /** What the metrics of a written outcome need to know of its request. */
  subject?: { model: string; endpoint: string; receivedAt: number };
};

/**
 * Several attempts' terminal writes in one statement (what completeRequestAttempt and
 * failRequestAttempt do one at a time), each fenced on its own claim, with the terminal
 * NOTIFY for the rows it changed. Returns, per outcome in order, whether it was written:
 * false when that attempt no longer holds its row (its answer is dropped).
 */
export async function finishRequestAttempts(
  db: Executor,
  outcomes: readonly AttemptOutcome[],
  onWritten?: (written: RecordMetrics) => void,
): Promise<boolean[]> {
  if (outcomes.length === 0) return [];
  // Rows locked in id order, so two flushes cannot deadlock on each other's rows.
  const order = outcomes.map((_, i) => i).sort((a, b) => {
    const x = outcomes[a]!.claim.requestId;
    const y = outcomes[b]!.claim.requestId;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  const rows = order.map((i) => {
    const o = outcomes[i]!;
    // Sanitised here, the last place before the statement: one NUL byte must not fail the batch.
    const answer = o.state === 'completed' ? { status: o.status, body: o.body } : o.http;
    const http = answer && { status: answer.status, body: storableText(answer.body) };
    const facts = o.state === 'completed' && http ? answerFacts(http.body) : undefined;
    const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());
    return {
      idx: i,
      id: o.claim.requestId,
      attempt: o.claim.attempt,
      token: o.claim.token,
      state: o.state,
      status: http?.status ?? null,
      body: http?.body ?? null,
      error: o.state === 'failed' ? serializeFailureReason(o.reason) : null,
      promptTokens: facts?.promptTokens ?? null,
      completionTokens: facts?.completionTokens ?? null,
      totalTokens: facts?.totalTokens ?? null,
      size: http ? Buffer.byteLength(http.body) : null,
      upstreamStartedAt: iso(o.timing?.upstreamStartedAt),
      firstByteAt: iso(o.timing?.firstByteAt),
      cachedTokens: facts?.cachedTokens ?? null,
      reasoningTokens: facts?.reasoningTokens ?? null,
      finishReason: facts?.finishReason ?? null,
      servedServiceTier: facts?.servedServiceTier ?? null,
      upstreamModel: facts?.upstreamModel ?? null,
      searchText: o.requestBody !== undefined && o.state === 'completed' && http ? searchText(o.requestBody, http.body) : null,
    };
  });
  type Row = (typeof rows)[number];
  const col = <K extends keyof Row>(k: K) => rows.map((r) => r[k]);
  const written = await FINISH_REQUEST_ATTEMPTS.run<{ id: string; idx: number }>(db, {
    idx: col('idx'),
    id: col('id'),
    attempt: col('attempt'),
    token: col('token'),
    state: col('state'),
    status: col('status'),
    body: col('body'),
    error: col('error'),
    promptTokens: col('promptTokens'),
    completionTokens: col('completionTokens'),
    totalTokens: col('totalTokens'),
    size: col('size'),
    upstreamStartedAt: col('upstreamStartedAt'),
    firstByteAt: col('firstByteAt'),
    cachedTokens: col('cachedTokens'),
    reasoningTokens: col('reasoningTokens'),
    finishReason: col('finishReason'),
    servedServiceTier: col('servedServiceTier'),
    upstreamModel: col('upstreamModel'),
    searchText: col('searchText'),
  });
  const result = outcomes.map(() => false);
  for (const w of written) result[w.idx] = true;
  if (onWritten) {
    const now = Date.now();
    for (const r of rows) {
      const subject = outcomes[r.idx]!.subject;
      if (!result[r.idx] || !subject) continue;
      onWritten({
        model: subject.model,
        endpoint: subject.endpoint,
        status: r.state,
        inputTokens: r.promptTokens,
        outputTokens: r.completionTokens,
        durationMs: now - subject.receivedAt,
        ttftMs: null,
      });
    }
  }
  return result;
}

/**
 * The fence (`ATTEMPT_GUARD`) per input row; an attempt's own index comes back with its row,
 * so two outcomes for one request (a zombie's and its takeover's) are told apart.
 */
const FINISH_REQUEST_ATTEMPTS = new PreparedStatement<Record<string, unknown[]>>(
  'volley_finish_request_attempts',
  withTerminalNotify(
    sql`
    UPDATE requests r SET
      state = i.state,
      response_status = i.response_status,
      response_body = i.response_body,
      error = i.error,
      completed_at = CASE WHEN i.state = 'completed' THEN now() ELSE r.completed_at END,
      failed_at = CASE WHEN i.state = 'failed' THEN now() ELSE r.failed_at END,
      prompt_tokens = CASE WHEN i.state = 'completed' THEN i.prompt_tokens ELSE r.prompt_tokens END,
      completion_tokens = CASE WHEN i.state = 'completed' THEN i.completion_tokens ELSE r.completion_tokens END,
      total_tokens = CASE WHEN i.state = 'completed' THEN i.total_tokens ELSE r.total_tokens END,
      response_size = i.response_size,
      -- DESIGN 12: end to end from the gateway's receipt, and the time the request waited.
      upstream_started_at = COALESCE(i.upstream_started_at, r.upstream_started_at),
      first_byte_at = COALESCE(i.first_byte_at, r.first_byte_at),
      finished_at = now(),
      duration_ms = extract(epoch FROM now() - COALESCE(r.received_at, r.created_at)) * 1000,
      queue_delay_ms = extract(epoch FROM i.upstream_started_at - COALESCE(r.received_at, r.created_at)) * 1000,
      cached_tokens = CASE WHEN i.state = 'completed' THEN i.cached_tokens ELSE r.cached_tokens END,
      reasoning_tokens = CASE WHEN i.state = 'completed' THEN i.reasoning_tokens ELSE r.reasoning_tokens END,
      finish_reason = CASE WHEN i.state = 'completed' THEN i.finish_reason ELSE r.finish_reason END,
      served_service_tier = CASE WHEN i.state = 'completed' THEN i.served_service_tier ELSE r.served_service_tier END,
      upstream_model = CASE WHEN i.state = 'completed' THEN i.upstream_model ELSE r.upstream_model END,
      search_text = CASE WHEN i.state = 'completed' THEN i.search_text ELSE r.search_text END,
      updated_at = now()
    FROM input i
    WHERE r.id = i.id AND r.state = 'processing' AND r.retry_attempt = i.attempt AND r.claimed_at = i.token
    RETURNING r.id, i.idx`,
    sql`input AS (
      SELECT * FROM unnest(
        ${p('idx')}::int[], ${p('id')}::uuid[], ${p('attempt')}::int[], ${p('token')}::timestamptz[], ${p('state')}::text[],
        ${p('status')}::smallint[], ${p('body')}::text[], ${p('error')}::text[], ${p('promptTokens')}::int[],
        ${p('completionTokens')}::int[], ${p('totalTokens')}::int[], ${p('size')}::bigint[],
        ${p('upstreamStartedAt')}::timestamptz[], ${p('firstByteAt')}::timestamptz[], ${p('cachedTokens')}::int[],
        ${p('reasoningTokens')}::int[], ${p('finishReason')}::text[], ${p('servedServiceTier')}::text[],
        ${p('upstreamModel')}::text[], ${p('searchText')}::text[]
      ) AS t(idx, id, attempt, token, state, response_status, response_body, error, prompt_tokens, completion_tokens,
             total_tokens, response_size, upstream_started_at, first_byte_at, cached_tokens, reasoning_tokens,
             finish_reason, served_service_tier, upstream_model, search_text)
    ),`,
  ),
);

/**
 * Back to `pending` for the next attempt: `retry_attempt + 1`, `not_before` = when it may
 * start, and `error` = this attempt's failure (so an eventual Expired can say what kept
 * failing). Run it in the transaction that sends the next attempt's job, so the row and the
 * job move together. Undefined when the attempt no longer holds the row.
 */
export async function retryRequestAttempt(
  db: Executor,
  claim: AttemptClaim,
  input: { notBefore: Date; reason: FailureReason },
): Promise<RequestRow | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    UPDATE requests SET state = 'pending', retry_attempt = retry_attempt + 1, not_before = ${input.notBefore.toISOString()},
                        error = ${serializeFailureReason(input.reason)}, claimed_at = NULL, updated_at = now()
    WHERE ${ATTEMPT_GUARD(claim)}
    RETURNING *`);
  const row = result.rows[0];
  return row ? toRequestRow(row) : undefined;
}
