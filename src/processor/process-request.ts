import type { PgBoss } from 'pg-boss';
import type { Db } from '../db/client.ts';
import type { RequestRow } from '../db/schema/index.ts';
import type { Logger } from '../logger.ts';
import {
  expired,
  networkError,
  nonRetriableHttpStatus,
  parseFailureReason,
  retriableHttpStatus,
  timeout,
  type FailureReason,
} from '../responses/failure-reason.ts';
import {
  claimRequestAttempts,
  finishRequestAttempts,
  releaseRequestAttempt,
  retryRequestAttempt,
  type AttemptClaim,
  type AdmissionLimits,
  type AttemptOutcome,
  type AttemptToClaim,
  type ClaimResult,
} from '../store/request-attempts.ts';
import { findRequestDetails, isTerminal, type RequestDetail } from '../store/requests.ts';
import type { UpstreamClient, UpstreamResult } from '../upstream/client.ts';
import { RequestCanceled, type InFlightCall, type InFlightCalls } from './in-flight.ts';
import { isRetriableStatus, nextAttemptDelayMs, type BackoffPolicy } from '../upstream/retry-policy.ts';
import { PRIORITY, QUEUE_OPTIONS, QUEUES, type ProcessRequestPayload } from '../jobs/definitions.ts';
import { processRequestJobId, sendProcessRequest } from '../jobs/producer.ts';
import { Coalescer } from '../lib/coalescer.ts';
import type { BatchHandler, Outcome, ValidJob } from '../jobs/run.ts';

export interface ProcessRequestDeps {
  db: Db;
  boss: PgBoss;
  client: Pick<UpstreamClient, 'call'>;
  inFlight: InFlightCalls;
  backoff: BackoffPolicy;
  /** Per-model concurrency across all processes; unset: no admission check at claim time. */
  modelConcurrency?: { default: number; overrides?: Readonly<Record<string, number>> };
  random?: () => number;
}

/**
 * process-request (DESIGN 8.1): one attempt of a background or flex request.
 *
 * Claim the row (pending → processing, fenced, see store/request-attempts.ts); a row that
 * is missing or terminal, or a job that is not the row's current attempt (an earlier
 * attempt's job run again) → done. POST it upstream, then exactly one of: `completed` (2xx);
 * `failed` with NonRetriableHttpStatus (other 4xx); back to `pending` with the next
 * attempt's job scheduled after an exponential backoff or the upstream's Retry-After (408,
 * 429, 5xx, network error, timeout), in one transaction; or `failed` with that last reason
 * when the next attempt would start after `expires_at`. A row found past `expires_at` when
 * its attempt starts fails without an upstream call: with its last attempt's failure, or
 * `Expired` when it never had an attempt.
 *
 * A cancel aborts the call (InFlightCalls) and the row is already `canceled`; every write
 * here is guarded on the attempt still holding the row, so nothing overwrites it. The job
 * itself completes in all those cases: retries are new jobs, one per attempt, so pg-boss's
 * own retries only cover a run that crashed, stalled or was stopped mid-call.
 *
 * Per fetch, one statement claims every attempt of the batch (with the per-model admission),
 * and terminal writes of concurrent attempts share one statement (a Coalescer). Each attempt
 * still gets its own claim result and learns whether its own terminal write happened
 * (`written` or `dropped`).
 */
export function processRequestHandler(deps: ProcessRequestDeps): BatchHandler<ProcessRequestPayload> {
  // Terminal writes of concurrent attempts (across this process's fetch loops) go to the
  // database together: one fenced UPDATE (and NOTIFY) per flush, each attempt told whether
  // its own row was written.
  const terminal = new Coalescer<PendingOutcome>(
    async (items) => {
      const written = await finishRequestAttempts(deps.db, items.map((i) => i.outcome));
      items.forEach((item, i) => (item.written = written[i]!));
    },
    { maxBatch: 64, maxInFlight: 1 },
  );
  const finish = async (outcome: AttemptOutcome): Promise<boolean> => {
    const item: PendingOutcome = { outcome, written: false };
    await terminal.add(item);
    return item.written;
  };
  const limits: AdmissionLimits | undefined = deps.modelConcurrency && { ...deps.modelConcurrency, claimTtlMs: CLAIM_TTL_MS };
  const claim = (attempts: readonly AttemptToClaim[]): Promise<ClaimResult[]> => claimRequestAttempts(deps.db, attempts, limits);

  return async (jobs, log) => {
    const outcomes = new Map<string, Outcome>();
    // Most jobs are a request's first attempt, whose job id says so: those are claimed
    // without reading their row first (the claim is fenced on the attempt, and says why it
    // did not claim). A retry's job id does not carry its attempt: those rows are read.
    const firstAttempt = new Map(jobs.map((j) => [j.id, j.id === processRequestJobId(j.data.requestId, 0)]));
    const toRead = jobs.filter((j) => !firstAttempt.get(j.id)).map((j) => j.data.requestId);
    const details = new Map((await findRequestDetails(deps.db, toRead)).map((d) => [d.id, d]));
    const toClaim: { job: ValidJob<ProcessRequestPayload>; attempt: number; call: InFlightCall }[] = [];
    for (const job of jobs) {
      let attempt = 0;
      if (!firstAttempt.get(job.id)) {
        const detail = details.get(job.data.requestId);
        const skipped = skipReason(job, detail);
        if (skipped) {
          outcomes.set(job.id, done(skipped));
          continue;
        }
        attempt = detail!.retryAttempt;
      }
      // Registered before the claim: a cancel that commits after the claim finds the call here.
      toClaim.push({ job, attempt, call: deps.inFlight.register(job.data.requestId) });
    }
    let claims: ClaimResult[];
    try {
      claims = await claim(toClaim.map(({ job, attempt }) => ({ requestId: job.data.requestId, attempt, job })));
    } catch (err) {
      for (const { call } of toClaim) call.release();
      throw err;
    }
    await Promise.all(
      toClaim.map(async ({ job, attempt, call }, i) => {
        const jobLog = log.child({ jobId: job.id, retryCount: job.retryCount, requestId: job.data.requestId });
        try {
          outcomes.set(job.id, await runAttempt({ ...deps, claim, finish }, job, attempt, call, claims[i]!, jobLog));
        } catch (err) {
          jobLog.error({ err }, 'process-request attempt failed; pg-boss retries the job');
          outcomes.set(job.id, { status: 'failed', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        } finally {
          call.release();
        }
      }),
    );
    return outcomes;
  };
}

interface PendingOutcome {
  outcome: AttemptOutcome;
  written: boolean;
}

type AttemptDeps = ProcessRequestDeps & {
  /** Claims attempts in one statement, with the per-model admission check when configured. */
  claim(attempts: readonly AttemptToClaim[]): Promise<ClaimResult[]>;
  /** Writes a terminal outcome (coalesced); true when this attempt's row was written. */
  finish(outcome: AttemptOutcome): Promise<boolean>;
};

/** Why a job needs no attempt: its row is missing or terminal, or it is not the row's current attempt. */
function skipReason(job: ValidJob<ProcessRequestPayload>, detail: RequestDetail | undefined): Record<string, unknown> | undefined {
  if (!detail) return { skipped: 'missing' };
  if (isTerminal(detail.state)) return { skipped: detail.state };
  if (job.id !== processRequestJobId(job.data.requestId, detail.retryAttempt)) {
    return { skipped: 'stale attempt', attempt: detail.retryAttempt };
  }
  return undefined;
}

const done = (output: Record<string, unknown>): Outcome => ({ status: 'completed', output });

/** No attempt outlives its job's expiry, so a claim older than that holds no model slot. */
const CLAIM_TTL_MS = (QUEUE_OPTIONS[QUEUES.processRequest].expireInSeconds ?? 900) * 1_000;

/** Resolves true after `ms`, or false as soon as `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function runAttempt(
  deps: AttemptDeps,
  job: ValidJob<ProcessRequestPayload>,
  attempt: number,
  call: InFlightCall,
  firstClaim: ClaimResult,
  log: Logger,
): Promise<Outcome> {
  const { requestId } = job.data;
  const signal = AbortSignal.any([job.signal, call.signal]);
  const claimInput = { requestId, attempt, job };
  let claimed = firstClaim;
  // Not this job's attempt, or already ended: nothing to do (as a read would have found).
  if (claimed.kind === 'missing') return done({ skipped: 'missing' });
  if (claimed.kind === 'already-terminal') return done({ skipped: claimed.state });
  if (claimed.kind === 'not-claimable' && claimed.retryAttempt !== attempt) {
    return done({ skipped: 'stale attempt', attempt: claimed.retryAttempt });
  }
  // pg-boss admitted this job past the model's limit (its group count races, see
  // claimRequestAttempts): hold the job, re-trying the claim until a slot frees, the
  // request is canceled or the job is stopped. Such waits are rare and short.
  for (let waitMs = 50; claimed.kind === 'at-capacity'; waitMs = Math.min(waitMs * 2, 250)) {
    if (!(await sleep(waitMs + Math.random() * waitMs, signal))) {
      return call.signal.aborted ? done({ state: 'canceled' }) : { status: 'failed', error: 'stopped while waiting for a model slot' };
    }
    [claimed] = (await deps.claim([claimInput])) as [ClaimResult];
  }
  if (claimed.kind !== 'claimed') {
    log.info({ result: claimed }, 'request not claimable by this run');
    return done({ skipped: claimed.kind });
  }
  const { claim, row } = claimed;
  if (row.expiresAt && row.expiresAt.getTime() <= Date.now()) {
    // A retry scheduled before the deadline but picked up after it (queue latency) ends
    // the request with the failure that made it retry, as if that had been the last
    // attempt; a request that never got an attempt ends Expired.
    const last = row.error ? parseFailureReason(row.error) : undefined;
    const reason = last ?? expired({ expiresAt: row.expiresAt });
    const http = last?.type === 'RetriableHttpStatus' ? { status: last.details.status, body: last.details.body } : undefined;
    await deps.finish({ claim, state: 'failed', reason, ...(http ? { http } : {}) });
    log.info({ attempt, reason: reason.type }, 'request past expires_at when its attempt started; no upstream call');
    return done({ state: 'failed', reason: reason.type });
  }
  const result = await deps.client.call({ model: row.model, endpoint: row.endpoint, body: row.body, requestId, signal });
  return await settleAttempt(deps, claim, row, result, log);
}

async function settleAttempt(
  deps: AttemptDeps,
  claim: AttemptClaim,
  row: RequestRow,
  result: UpstreamResult,
  log: Logger,
): Promise<Outcome> {
  const fields = { attempt: claim.attempt, kind: result.kind, durationMs: result.durationMs };
  if (result.kind === 'aborted') {
    if (result.reason instanceof RequestCanceled) {
      log.info(fields, 'upstream call aborted: request canceled');
      return done({ state: 'canceled' });
    }
    // Shutdown or a lost pg-boss claim: hand the attempt back (its model slot frees at once)
    // and let pg-boss retry the job, whose next run claims the row again.
    const released = await releaseRequestAttempt(deps.db, claim);
    log.warn({ ...fields, released: !!released }, 'upstream call aborted by the job signal');
    return { status: 'failed', error: `upstream call aborted: ${String(result.reason)}` };
  }

  if (result.kind === 'response' && result.status >= 200 && result.status < 300) {
    const written = await deps.finish({ claim, state: 'completed', status: result.status, body: result.body });
    log.info({ ...fields, status: result.status, size: result.body.length, written: !!written }, 'upstream answered');
    return done({ state: written ? 'completed' : 'dropped' });
  }

  if (result.kind === 'response' && !isRetriableStatus(result.status)) {
    const http = { status: result.status, body: result.body };
    const written = await deps.finish({ claim, state: 'failed', reason: nonRetriableHttpStatus(result.status, result.body), http });
    log.info({ ...fields, status: result.status, written: !!written }, 'upstream refused the request; not retried');
    return done({ state: written ? 'failed' : 'dropped' });
  }

  const reason = failureOf(result);
  const http = result.kind === 'response' ? { status: result.status, body: result.body } : undefined;
  const delayMs = nextAttemptDelayMs(
    deps.backoff,
    claim.attempt,
    result.kind === 'response' ? result.retryAfterMs : undefined,
    deps.random,
  );
  const notBefore = new Date(Date.now() + delayMs);
  if (row.expiresAt && notBefore.getTime() > row.expiresAt.getTime()) {
    const written = await deps.finish({ claim, state: 'failed', reason, ...(http ? { http } : {}) });
    log.info({ ...fields, reason: reason.type, written: !!written }, 'retriable failure, but the next attempt would start after expires_at');
    return done({ state: written ? 'failed' : 'dropped' });
  }
  const next = claim.attempt + 1;
  const moved = await deps.db.transaction(async (tx) => {
    const pending = await retryRequestAttempt(tx, claim, { notBefore, reason });
    if (!pending) return false;
    await sendProcessRequest(deps.boss, tx, claim.requestId, {
      priority: row.serviceTier === 'flex' ? PRIORITY.flex : PRIORITY.background,
      model: row.model,
      attempt: next,
      startAfter: notBefore,
    });
    return true;
  });
  log.info({ ...fields, reason: reason.type, nextAttempt: next, delayMs, moved }, 'retriable failure; next attempt scheduled');
  return done({ state: moved ? 'pending' : 'dropped', nextAttempt: next, delayMs });
}

function failureOf(result: Exclude<UpstreamResult, { kind: 'aborted' }>): FailureReason {
  switch (result.kind) {
    case 'response':
      return retriableHttpStatus(result.status, result.body);
    case 'network-error':
      return networkError(result.error);
    case 'timeout':
      return timeout(result.error);
  }
}
