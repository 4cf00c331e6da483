import type { PgBoss } from 'pg-boss';
import type { Db } from '../../db/client.ts';
import type { RequestRow } from '../../db/schema/index.ts';
import type { Logger } from '../../logger.ts';
import {
  expired,
  networkError,
  nonRetriableHttpStatus,
  parseFailureReason,
  retriableHttpStatus,
  timeout,
  type FailureReason,
} from '../../responses/failure-reason.ts';
import {
  claimRequestAttempt,
  completeRequestAttempt,
  failRequestAttempt,
  releaseRequestAttempt,
  retryRequestAttempt,
  type AttemptClaim,
} from '../../store/request-attempts.ts';
import { findRequestDetails, isTerminal, type RequestDetail } from '../../store/requests.ts';
import type { UpstreamClient, UpstreamResult } from '../../upstream/client.ts';
import { RequestCanceled, type InFlightCalls } from '../../upstream/in-flight.ts';
import { isRetriableStatus, nextAttemptDelayMs, type BackoffPolicy } from '../../upstream/retry-policy.ts';
import { PRIORITY, QUEUE_OPTIONS, QUEUES, type ProcessRequestPayload } from '../definitions.ts';
import { processRequestJobId, sendProcessRequest } from '../enqueue.ts';
import type { BatchHandler, Outcome, ValidJob } from '../run.ts';

export interface ProcessRequestDeps {
  db: Db;
  boss: PgBoss;
  client: Pick<UpstreamClient, 'call'>;
  inFlight: InFlightCalls;
  backoff: BackoffPolicy;
  /** Per-model concurrency across all processes; unset: no admission check at claim time. */
  modelLimit?: (model: string) => number;
  /** pg-boss's schema, for the claim's job fence (default `pgboss`). */
  bossSchema?: string;
  random?: () => number;
}

/**
 * process-request (DESIGN 8.1): one attempt of a background or flex request.
 *
 * Load the row; terminal → done. A job that is not the row's current attempt (an earlier
 * attempt's job run again) → done. Claim the row (pending → processing, fenced, see
 * store/request-attempts.ts), POST it upstream, then exactly one of: `completed` (2xx);
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
 */
export function processRequestHandler(deps: ProcessRequestDeps): BatchHandler<ProcessRequestPayload> {
  return async (jobs, log) => {
    const outcomes = new Map<string, Outcome>();
    // One read for the whole fetch; each attempt then runs on its own.
    const details = new Map((await findRequestDetails(deps.db, jobs.map((j) => j.data.requestId))).map((d) => [d.id, d]));
    await Promise.all(
      jobs.map(async (job) => {
        const jobLog = log.child({ jobId: job.id, retryCount: job.retryCount, requestId: job.data.requestId });
        try {
          outcomes.set(job.id, await runAttempt(deps, job, details.get(job.data.requestId), jobLog));
        } catch (err) {
          jobLog.error({ err }, 'process-request attempt failed; pg-boss retries the job');
          outcomes.set(job.id, { status: 'failed', error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
        }
      }),
    );
    return outcomes;
  };
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
  deps: ProcessRequestDeps,
  job: ValidJob<ProcessRequestPayload>,
  detail: RequestDetail | undefined,
  log: Logger,
): Promise<Outcome> {
  const { requestId } = job.data;
  if (!detail) return done({ skipped: 'missing' });
  if (isTerminal(detail.state)) return done({ skipped: detail.state });
  const attempt = detail.retryAttempt;
  if (job.id !== processRequestJobId(requestId, attempt)) return done({ skipped: 'stale attempt', attempt });

  // Registered before the claim: a cancel that commits after the claim finds the call here.
  const call = deps.inFlight.register(requestId);
  const signal = AbortSignal.any([job.signal, call.signal]);
  try {
    const claimInput = {
      requestId,
      attempt,
      job,
      ...(deps.modelLimit
        ? { slots: { model: detail.model, limit: deps.modelLimit(detail.model), claimTtlMs: CLAIM_TTL_MS } }
        : {}),
      ...(deps.bossSchema ? { bossSchema: deps.bossSchema } : {}),
    };
    let claimed = await claimRequestAttempt(deps.db, claimInput);
    // pg-boss admitted this job past the model's limit (its group count races, see
    // claimRequestAttempt): hold the job, re-trying the claim until a slot frees, the
    // request is canceled or the job is stopped. Such waits are rare and short.
    for (let waitMs = 50; claimed.kind === 'at-capacity'; waitMs = Math.min(waitMs * 2, 250)) {
      if (!(await sleep(waitMs + Math.random() * waitMs, signal))) {
        return call.signal.aborted ? done({ state: 'canceled' }) : { status: 'failed', error: 'stopped while waiting for a model slot' };
      }
      claimed = await claimRequestAttempt(deps.db, claimInput);
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
      await failRequestAttempt(deps.db, claim, reason, http);
      log.info({ attempt, reason: reason.type }, 'request past expires_at when its attempt started; no upstream call');
      return done({ state: 'failed', reason: reason.type });
    }
    const result = await deps.client.call({ model: row.model, endpoint: row.endpoint, body: row.body, requestId, signal });
    return await settleAttempt(deps, claim, row, result, log);
  } finally {
    call.release();
  }
}

async function settleAttempt(
  deps: ProcessRequestDeps,
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
    const written = await completeRequestAttempt(deps.db, claim, result.status, result.body);
    log.info({ ...fields, status: result.status, size: result.body.length, written: !!written }, 'upstream answered');
    return done({ state: written ? 'completed' : 'dropped' });
  }

  if (result.kind === 'response' && !isRetriableStatus(result.status)) {
    const http = { status: result.status, body: result.body };
    const written = await failRequestAttempt(deps.db, claim, nonRetriableHttpStatus(result.status, result.body), http);
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
    const written = await failRequestAttempt(deps.db, claim, reason, http);
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
