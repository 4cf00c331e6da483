import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { RequestRow, TerminalState } from '../db/schema/index.ts';
import { QUEUES } from '../jobs/definitions.ts';
import { serializeFailureReason, trackingLost, type FailureReason } from '../responses/failure-reason.ts';
import { extractUsage } from '../responses/usage.ts';
import { isTerminal, toRequestRow, withTerminalNotify } from './requests.ts';

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

/** The schema startBoss installs pg-boss into (its default). */
export const BOSS_SCHEMA = 'pgboss';

const ATTEMPT_GUARD = (claim: AttemptClaim) =>
  sql`id = ${claim.requestId} AND state = 'processing' AND retry_attempt = ${claim.attempt}
      AND claimed_at = ${claim.token}::timestamptz`;

/** Per-model admission (see claimRequestAttempt). */
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
 * With `slots`, the claim is also an admission: it succeeds only while fewer than
 * `slots.limit` rows of the model are claimed and in flight. Claimers of one model are
 * serialized by a transaction-scoped advisory lock, so the count and the claim are one
 * step for everyone. (pg-boss's groupConcurrency alone over-admits: concurrent fetches each
 * count the group's active jobs in their own snapshot, and with a dozen fetch loops waking
 * on one NOTIFY, a limit of 2 was seen at 7 concurrent upstream calls.)
 */
export async function claimRequestAttempt(
  db: Executor,
  input: { requestId: string; attempt: number; job: JobAttempt; slots?: ModelSlots; bossSchema?: string },
): Promise<ClaimResult> {
  if (!input.slots) return claimOnce(db, input);
  const slots = input.slots;
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`volley:model-slots:${slots.model}`}, 0))`);
    // A new statement, so a new snapshot: every claim committed before the lock was granted is counted.
    const counted = await tx.execute<{ n: number }>(sql`
      SELECT count(*)::int AS n FROM requests
      WHERE model = ${slots.model} AND state = 'processing' AND claimed_at IS NOT NULL
        AND claimed_at > now() - make_interval(secs => ${slots.claimTtlMs / 1_000}) AND id <> ${input.requestId}`);
    const inFlight = counted.rows[0]?.n ?? 0;
    if (inFlight >= slots.limit) {
      const current = await currentState(tx, input.requestId);
      // Only a row this processor could claim waits for a slot (not a realtime row).
      const waits = current.kind === 'not-claimable' && current.retryAttempt === input.attempt && current.claimable;
      return waits ? { kind: 'at-capacity', inFlight } : strip(current);
    }
    return claimOnce(tx, input);
  });
}

async function claimOnce(
  db: Executor,
  input: { requestId: string; attempt: number; job: JobAttempt; bossSchema?: string },
): Promise<ClaimResult> {
  const jobTable = sql`${sql.identifier(input.bossSchema ?? BOSS_SCHEMA)}.job`;
  const result = await db.execute<Record<string, unknown>>(sql`
    UPDATE requests r SET state = 'processing', claimed_at = clock_timestamp(), started_at = clock_timestamp(),
                          updated_at = now()
    FROM ${jobTable} j
    WHERE r.id = ${input.requestId} AND r.retry_attempt = ${input.attempt}
      AND j.name = ${QUEUES.processRequest} AND j.id = ${input.job.id}
      AND j.state = 'active' AND j.retry_count = ${input.job.retryCount}
      AND (r.state = 'pending' OR (r.state = 'processing' AND r.claimed_at IS NOT NULL AND j.started_on > r.claimed_at))
    RETURNING r.*, r.claimed_at::text AS claim_token`);
  const raw = result.rows[0];
  if (raw) {
    return {
      kind: 'claimed',
      claim: { requestId: input.requestId, attempt: input.attempt, token: raw.claim_token as string },
      row: toRequestRow(raw),
    };
  }
  return strip(await currentState(db, input.requestId));
}

type CurrentState =
  | Exclude<ClaimResult, { kind: 'claimed' | 'at-capacity' | 'not-claimable' }>
  | { kind: 'not-claimable'; state: string; retryAttempt: number; claimable: boolean };

/**
 * Why a row was not claimed: missing, terminal, or (otherwise) not this run's to claim;
 * `claimable` says whether the processor could claim it at all (pending, or held by a claim).
 */
async function currentState(db: Executor, requestId: string): Promise<CurrentState> {
  const current = await db.execute<{ state: string; retry_attempt: number; claimable: boolean }>(
    sql`SELECT state, retry_attempt, (state = 'pending' OR (state = 'processing' AND claimed_at IS NOT NULL)) AS claimable
        FROM requests WHERE id = ${requestId}`,
  );
  const row = current.rows[0];
  if (!row) return { kind: 'missing' };
  if (isTerminal(row.state)) return { kind: 'already-terminal', state: row.state };
  return { kind: 'not-claimable', state: row.state, retryAttempt: row.retry_attempt, claimable: row.claimable };
}

function strip(current: CurrentState): ClaimResult {
  return current.kind === 'not-claimable'
    ? { kind: 'not-claimable', state: current.state, retryAttempt: current.retryAttempt }
    : current;
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
