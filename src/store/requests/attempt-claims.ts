import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { PreparedStatement } from '../../db/prepared.ts';
import type { RequestRow, TerminalState } from '../../db/schema/index.ts';
import { QUEUES } from '../../db/pgboss.ts';
import { toRequestRow } from './rows.ts';

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
