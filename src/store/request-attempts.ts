import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { PreparedStatement } from '../db/prepared.ts';
import type { RequestRow, TerminalState } from '../db/schema/index.ts';
import { QUEUES } from '../jobs/definitions.ts';
import { serializeFailureReason, trackingLost, type FailureReason } from '../responses/failure-reason.ts';
import { extractUsage } from '../responses/usage.ts';
import { toRequestRow, withTerminalNotify } from './requests.ts';

/**
 * The request processor's compare-and-set transitions on `requests` (DESIGN 8.1):
 *
 *   pending ──claim──▶ processing ──complete/fail──▶ completed | failed
 *      ▲                   │
 *      └──────retry────────┘  (retry_attempt + 1, not_before, the next job sent with it)
 *
 * An attempt is identified twice over. `retry_attempt` says which process-request job may
 * work on the row (each attempt's job has its own deterministic id), and `claimed_at`, set
 * to the claiming statement's clock, is the attempt's fencing token: every later write of
 * the attempt matches on it, so a stalled ("zombie") run whose claim was taken over cannot
 * write over the run that took it, and nothing at all can write over a terminal row.
 * The `claimed` state is not used: claiming and starting are one statement here.
 */

/** What a claimed attempt carries into its writes. */
export interface AttemptClaim {
  requestId: string;
  attempt: number;
  /** `claimed_at` as PostgreSQL printed it (microseconds intact: a JS Date would drop them). */
  token: string;
}

export type ClaimResult =
  | { kind: 'claimed'; claim: AttemptClaim; row: RequestRow }
  | { kind: 'already-terminal'; state: TerminalState }
  | { kind: 'missing' }
  /** Another attempt's turn, a realtime row, or this run no longer holds its pg-boss job. */
  | { kind: 'not-claimable'; state: string; retryAttempt: number }
  /** The model already has `limit` attempts in flight; try again when one ends. */
  | { kind: 'at-capacity'; inFlight: number };

/** The pg-boss job a run holds: its id and the retry count it was fetched at. */
export interface JobAttempt {
  id: string;
  retryCount: number;
}

const ATTEMPT_GUARD = (claim: AttemptClaim) =>
  sql`id = ${claim.requestId} AND state = 'processing' AND retry_attempt = ${claim.attempt}
      AND claimed_at = ${claim.token}::timestamptz`;

/** Per-model admission (see claimRequestAttempts). */
export interface ModelSlots {
  model: string;
  /** Attempts of this model that may be in flight at once, across every process. */
  limit: number;
  /**
   * A claim older than this is dead whatever its row says (pg-boss expires a job after
   * expireInSeconds), so a row left `processing` by a lost job frees its slot eventually.
   */
  claimTtlMs: number;
}

/** One attempt of a fetched batch to claim. */
export interface AttemptToClaim {
  requestId: string;
  attempt: number;
  job: JobAttempt;
}

/** Per-model admission for claimRequestAttempts. */
export interface AdmissionLimits {
  /** Attempts of a model that may be in flight at once across every process, unless overridden. */
  default: number;
  overrides?: Readonly<Record<string, number>>;
  /** See ModelSlots.claimTtlMs. */
  claimTtlMs: number;
}

const p = (name: string) => sql.placeholder(name);

/**
 * volley_claim_request_attempts (drizzle/0001_processor_claim.sql): lock the batch's models,
 * then read, count and claim in a new statement, all in one round trip. Its job fence reads
 * pg-boss's default schema (`pgboss`, where startBoss installs it).
 */
const CLAIM_REQUEST_ATTEMPTS = new PreparedStatement<Record<string, unknown>>(
  'volley_claim_request_attempts',
  sql`SELECT * FROM volley_claim_request_attempts(
        ${p('ids')}::uuid[], ${p('attempts')}::int[], ${p('jobIds')}::uuid[], ${p('retryCounts')}::int[],
        ${p('defaultLimit')}::int, ${p('limitModels')}::text[], ${p('limitValues')}::int[], ${p('claimTtlSecs')}::float8,
        ${QUEUES.processRequest})`,
);

interface ClaimRow extends Record<string, unknown> {
  id: string;
  outcome: 'claimed' | 'missing' | 'already-terminal' | 'at-capacity' | 'not-claimable';
  state: string | null;
  retry_attempt: number | null;
  in_flight: number | null;
  claim_token: string | null;
  claimed: Record<string, unknown> | null;
}

/**
 * Claims a fetched batch of attempts in one round trip (no read before it); returns one
 * result per item, in order. Each attempt moves its request to `processing` on the
 * conditions of claimRequestAttempt (its job still held, the row at this attempt and pending
 * or taken over from a dead run); one that is not claimed says why, with the row's state and
 * attempt.
 *
 * With `limits`, the claim is also an admission: per model, while `n` attempts are in flight
 * (across every process), at most `limit - n` of the batch's claimable attempts of that
 * model are claimed, in item order; the rest come back `at-capacity` and wait for a slot.
 * Claimers of one model are serialized by a transaction-scoped advisory lock taken before
 * the count (see the migration for why lock and count are separate statements), so the
 * count and the claim are one step for everyone. Run it on the pool, not in a transaction
 * (the locks are held until commit).
 */
export async function claimRequestAttempts(
  db: Executor,
  items: readonly AttemptToClaim[],
  limits?: AdmissionLimits,
): Promise<ClaimResult[]> {
  if (items.length === 0) return [];
  const overrides = Object.entries(limits?.overrides ?? {});
  const rows = await CLAIM_REQUEST_ATTEMPTS.run<ClaimRow>(db, {
    ids: items.map((i) => i.requestId),
    attempts: items.map((i) => i.attempt),
    jobIds: items.map((i) => i.job.id),
    retryCounts: items.map((i) => i.job.retryCount),
    defaultLimit: limits?.default ?? null,
    limitModels: overrides.map(([model]) => model),
    limitValues: overrides.map(([, limit]) => limit),
    claimTtlSecs: (limits?.claimTtlMs ?? 0) / 1_000,
  });
  if (rows.length !== items.length) throw new Error(`claim returned ${rows.length} rows for ${items.length} attempts`);
  return rows.map((r, i) => toClaimResult(r, items[i]!));
}

function toClaimResult(r: ClaimRow, item: AttemptToClaim): ClaimResult {
  switch (r.outcome) {
    case 'claimed':
      return {
        kind: 'claimed',
        claim: { requestId: item.requestId, attempt: item.attempt, token: r.claim_token! },
        row: toRequestRow(r.claimed!),
      };
    case 'missing':
      return { kind: 'missing' };
    case 'already-terminal':
      return { kind: 'already-terminal', state: r.state as TerminalState };
    case 'at-capacity':
      return { kind: 'at-capacity', inFlight: r.in_flight ?? 0 };
    case 'not-claimable':
      return { kind: 'not-claimable', state: r.state!, retryAttempt: r.retry_attempt! };
  }
}

/**
 * Moves a request to `processing` for `attempt`, run by `job`. Succeeds from `pending`, or
 * from `processing` when a previous run of the same attempt holds it (that run's process
 * died or stalled and pg-boss handed the job on: taking the row over is how the request
 * survives a crashed flex process). Realtime rows (never claimed by the processor) are
 * never claimed here.
 *
 * The claim also checks that `job` is still active at the retry count this run fetched it
 * with, the same fence pg-boss puts on `complete(job)`, so a run that lost its job cannot
 * take the row back from the run that holds it now. A takeover further needs pg-boss to
 * have (re)started the job after the row was claimed (`started_on > claimed_at`): a
 * duplicate run of the fetch that already holds the row gets nothing, so one fetch of a job
 * makes at most one upstream call.
 *
 * With `slots`, the claim is also an admission (claimRequestAttempts). (pg-boss's
 * groupConcurrency alone over-admits: concurrent fetches each count the group's active jobs
 * in their own snapshot, and with a dozen fetch loops waking on one NOTIFY, a limit of 2 was
 * seen at 7 concurrent upstream calls.)
 */
export async function claimRequestAttempt(
  db: Executor,
  input: { requestId: string; attempt: number; job: JobAttempt; slots?: ModelSlots },
): Promise<ClaimResult> {
  const { slots } = input;
  const [result] = await claimRequestAttempts(
    db,
    [{ requestId: input.requestId, attempt: input.attempt, job: input.job }],
    slots ? { default: slots.limit, overrides: { [slots.model]: slots.limit }, claimTtlMs: slots.claimTtlMs } : undefined,
  );
  return result!;
}

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
  body: string,
): Promise<RequestRow | undefined> {
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
  http?: { status: number; body: string },
): Promise<RequestRow | undefined> {
  return terminalWrite(
    db,
    claim,
    sql`state = 'failed', error = ${serializeFailureReason(reason)}, failed_at = now(),
        response_status = ${http?.status ?? null}, response_body = ${http?.body ?? null},
        response_size = ${http ? Buffer.byteLength(http.body) : null}`,
  );
}

/** One attempt's terminal outcome, for finishRequestAttempts. */
export type AttemptOutcome =
  | { claim: AttemptClaim; state: 'completed'; status: number; body: string }
  | { claim: AttemptClaim; state: 'failed'; reason: FailureReason; http?: { status: number; body: string } };

/**
 * Several attempts' terminal writes in one statement (what completeRequestAttempt and
 * failRequestAttempt do one at a time), each fenced on its own claim, with the terminal
 * NOTIFY for the rows it changed. Returns, per outcome in order, whether it was written:
 * false when that attempt no longer holds its row (its answer is dropped).
 */
export async function finishRequestAttempts(db: Executor, outcomes: readonly AttemptOutcome[]): Promise<boolean[]> {
  if (outcomes.length === 0) return [];
  // Rows locked in id order, so two flushes cannot deadlock on each other's rows.
  const order = outcomes.map((_, i) => i).sort((a, b) => {
    const x = outcomes[a]!.claim.requestId;
    const y = outcomes[b]!.claim.requestId;
    return x < y ? -1 : x > y ? 1 : a - b;
  });
  const rows = order.map((i) => {
    const o = outcomes[i]!;
    const http = o.state === 'completed' ? { status: o.status, body: o.body } : o.http;
    const usage = o.state === 'completed' ? extractUsage(o.body) : undefined;
    return {
      idx: i,
      id: o.claim.requestId,
      attempt: o.claim.attempt,
      token: o.claim.token,
      state: o.state,
      status: http?.status ?? null,
      body: http?.body ?? null,
      error: o.state === 'failed' ? serializeFailureReason(o.reason) : null,
      promptTokens: usage?.promptTokens ?? null,
      completionTokens: usage?.completionTokens ?? null,
      totalTokens: usage?.totalTokens ?? null,
      size: http ? Buffer.byteLength(http.body) : null,
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
  });
  const result = outcomes.map(() => false);
  for (const w of written) result[w.idx] = true;
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
      updated_at = now()
    FROM input i
    WHERE r.id = i.id AND r.state = 'processing' AND r.retry_attempt = i.attempt AND r.claimed_at = i.token
    RETURNING r.id, i.idx`,
    sql`input AS (
      SELECT * FROM unnest(
        ${p('idx')}::int[], ${p('id')}::uuid[], ${p('attempt')}::int[], ${p('token')}::timestamptz[], ${p('state')}::text[],
        ${p('status')}::smallint[], ${p('body')}::text[], ${p('error')}::text[], ${p('promptTokens')}::int[],
        ${p('completionTokens')}::int[], ${p('totalTokens')}::int[], ${p('size')}::bigint[]
      ) AS t(idx, id, attempt, token, state, response_status, response_body, error, prompt_tokens, completion_tokens,
             total_tokens, response_size)
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

/**
 * The sweeper (DESIGN 8.3): realtime rows (`background` false, a `0s` batch, never claimed
 * by the processor) still `processing` `staleAfterMs` after they started lost their gateway
 * mid-request. They become `failed` with TrackingLost, at most `limit` per call, and are
 * never sent upstream again. Returns the ids it failed.
 */
export async function failLostRealtimeRequests(
  db: Executor,
  input: { staleAfterMs: number; limit?: number },
): Promise<string[]> {
  const reason = serializeFailureReason(trackingLost());
  const result = await db.execute<{ id: string }>(
    withTerminalNotify(sql`
      UPDATE requests r SET state = 'failed', error = ${reason}, failed_at = now(), updated_at = now()
      WHERE r.id IN (
        SELECT s.id FROM requests s JOIN batches b ON b.id = s.batch_id
        WHERE s.state = 'processing' AND s.started_at < now() - make_interval(secs => ${input.staleAfterMs / 1_000})
          AND NOT s.background AND s.claimed_at IS NULL AND b.completion_window = '0s'
        ORDER BY s.started_at
        LIMIT ${input.limit ?? 1_000}
        FOR UPDATE OF s SKIP LOCKED
      )
      AND r.state = 'processing'
      RETURNING r.id`),
  );
  return result.rows.map((r) => r.id);
}

/**
 * Background and flex rows whose process-request job is gone (dead-lettered after repeated
 * crashes, or lost) would otherwise stay `pending` or `processing` forever. Once a row is
 * `abandonedAfterMs` past its `expires_at`, with no live claim (pending, or a claim older
 * than `claimTtlMs`), no attempt of it can still be running or due: it becomes `failed`
 * with `Expired`, carrying the last attempt's failure when there was one. At most `limit`
 * per call. Returns the ids it failed.
 */
export async function failAbandonedBackgroundRequests(
  db: Executor,
  input: { abandonedAfterMs: number; claimTtlMs: number; limit?: number },
): Promise<string[]> {
  const result = await db.execute<{ id: string }>(
    withTerminalNotify(sql`
      UPDATE requests r SET state = 'failed', failed_at = now(), updated_at = now(),
        error = jsonb_build_object('type', 'Expired', 'details', jsonb_strip_nulls(jsonb_build_object(
          'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'last', CASE WHEN r.error LIKE '{%' THEN r.error::jsonb END)))::text
      WHERE r.id IN (
        SELECT s.id FROM requests s
        WHERE s.state IN ('pending', 'claimed', 'processing') AND s.expires_at IS NOT NULL
          AND s.expires_at < now() - make_interval(secs => ${input.abandonedAfterMs / 1_000})
          AND (s.state <> 'processing' OR s.claimed_at < now() - make_interval(secs => ${input.claimTtlMs / 1_000}))
        ORDER BY s.expires_at
        LIMIT ${input.limit ?? 1_000}
        FOR UPDATE OF s SKIP LOCKED
      )
      AND r.state IN ('pending', 'claimed', 'processing')
      RETURNING r.id`),
  );
  return result.rows.map((r) => r.id);
}

