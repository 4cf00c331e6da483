// One attempt of a background or flex request, from its claim result to its outcome
// (DESIGN 8.1). The batch runner (attempts.ts) claims; this calls the upstream and settles.
import { epochNow } from '../lib/clock.ts';
import type { Db, Tx } from '../db/client.ts';
import type { RequestRow, ServiceTier } from '../db/schema/index.ts';
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
import type { AttemptClaim, AttemptToClaim, ClaimResult } from '../store/requests/attempt-claims.ts';
import { releaseRequestAttempt, retryRequestAttempt, type AttemptOutcome } from '../store/requests/attempt-outcomes.ts';
import type { UpstreamClient, UpstreamResult } from '../upstream/client.ts';
import { isRetriableStatus, nextAttemptDelayMs, type BackoffPolicy } from '../upstream/retry-policy.ts';
import type { ModelCatalog } from '../upstream/model-catalog.ts';
import { prepareCall } from '../upstream/prepare.ts';
import { completedAnswer, translatedAnswer } from '../responses/answers.ts';
import { parseJson } from '../responses/json.ts';
import { toResponseId } from '../responses/response-id.ts';
import { RequestCanceled, type InFlightCall } from './in-flight.ts';

/** A fetched process-request job, as the processor sees it. */
export interface AttemptJob {
  id: string;
  retryCount: number;
  signal: AbortSignal;
  requestId: string;
}

/** What became of a job: done (with what happened, for the job's output), or failed back to the queue. */
export type AttemptRunOutcome = { status: 'completed'; output: object } | { status: 'failed'; error: string };

/** The next attempt to schedule (the retry's process-request job). */
export interface NextAttempt {
  requestId: string;
  model: string;
  serviceTier: ServiceTier;
  /** 0-based attempt number of the job to send. */
  attempt: number;
  startAfter: Date;
}

/**
 * Sends the next attempt's job inside `tx`, the transaction that moves the row back to
 * `pending`, so the row and its job move together. The queue layer implements it.
 */
export type SendNextAttempt = (tx: Tx, next: NextAttempt) => Promise<void>;

export interface AttemptDeps {
  db: Db;
  /** The models table's view: each model's route and API. */
  catalog: ModelCatalog;
  client: Pick<UpstreamClient, 'call'>;
  backoff: BackoffPolicy;
  sendNextAttempt: SendNextAttempt;
  random?: () => number;
  /** Claims attempts in one statement, with the per-model admission check when configured. */
  claim(attempts: readonly AttemptToClaim[]): Promise<ClaimResult[]>;
  /** Writes a terminal outcome (coalesced); true when this attempt's row was written. */
  finish(outcome: AttemptOutcome): Promise<boolean>;
}

export const done = (output: Record<string, unknown>): AttemptRunOutcome => ({ status: 'completed', output });

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

/** Runs one claimed (or not) attempt: waits for a model slot if needed, calls the upstream, settles. */
export async function runAttempt(
  deps: AttemptDeps,
  job: AttemptJob,
  attempt: number,
  call: InFlightCall,
  firstClaim: ClaimResult,
  log: Logger,
): Promise<AttemptRunOutcome> {
  const { requestId } = job;
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
  // The route, the chain expanded, a chat-only model's request translated (as the gateway
  // does for realtime requests). A chain that cannot be continued any more (a turn deleted
  // since) ends the request with the 400 a realtime request would have got; no call.
  const value = parseJson(row.body);
  const prepared = await prepareCall(deps, {
    endpoint: row.endpoint,
    model: row.model,
    raw: row.body,
    value,
    owner: row.createdBy,
    processor: true,
  });
  if (!prepared.ok) {
    const body = JSON.stringify({ error: { message: prepared.refusal.message, type: 'invalid_request_error', param: prepared.refusal.param, code: prepared.refusal.code } });
    await deps.finish({ claim, state: 'failed', reason: nonRetriableHttpStatus(400, body), http: { status: 400, body } });
    log.info({ attempt, code: prepared.refusal.code }, 'request refused before its upstream call');
    return done({ state: 'failed', reason: prepared.refusal.code });
  }
  const { call: upstream } = prepared;
  const upstreamStartedAt = epochNow();
  const result = await deps.client.call({ target: upstream.route, path: upstream.path, body: upstream.body, requestId, signal });
  const timing = { upstreamStartedAt, firstByteAt: result.kind === 'response' ? (result.firstByteAt ?? null) : null };
  // Every terminal write of this attempt carries its timings and the request's text (DESIGN 12).
  const subject = { model: row.model, endpoint: row.endpoint, receivedAt: (row.receivedAt ?? row.createdAt).getTime() };
  const timed: AttemptDeps = { ...deps, finish: (o) => deps.finish({ ...o, timing, requestBody: row.body, subject }) };
  return await settleAttempt(timed, claim, row, asResponsesAnswer(result, row, value, upstream.translated !== undefined), log);
}

/**
 * On /v1/responses, a 2xx answer is stored as the Responses object a client gets: a chat-only
 * model's answer translated, a Responses upstream's made complete, with volley's id.
 */
function asResponsesAnswer(result: UpstreamResult, row: RequestRow, request: unknown, translated: boolean): UpstreamResult {
  if (row.endpoint !== '/v1/responses' || result.kind !== 'response' || result.status < 200 || result.status >= 300) return result;
  const now = Math.floor(Date.now() / 1_000);
  const responseId = toResponseId(row.id);
  const createdAt = Math.floor(row.createdAt.getTime() / 1_000);
  const body = translated
    ? translatedAnswer(result.body, request, responseId, now, createdAt)
    : completedAnswer(result.body, request, responseId, now, createdAt);
  return body === undefined ? result : { ...result, body };
}

async function settleAttempt(
  deps: AttemptDeps,
  claim: AttemptClaim,
  row: RequestRow,
  result: UpstreamResult,
  log: Logger,
): Promise<AttemptRunOutcome> {
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

  if (result.kind === 'too-large') {
    // Asking again would get the same answer: failed, with what the client would have got.
    const body = JSON.stringify({
      error: { message: `The upstream's answer is larger than ${result.limit} bytes.`, type: 'server_error', param: null, code: 'upstream_answer_too_large' },
    });
    const written = await deps.finish({ claim, state: 'failed', reason: nonRetriableHttpStatus(502, body), http: { status: 502, body } });
    log.warn({ ...fields, upstreamStatus: result.status }, 'upstream answer too large; failed, not retried');
    return done({ state: written ? 'failed' : 'dropped' });
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
    await deps.sendNextAttempt(tx, { requestId: claim.requestId, model: row.model, serviceTier: row.serviceTier, attempt: next, startAfter: notBefore });
    return true;
  });
  log.info({ ...fields, reason: reason.type, nextAttempt: next, delayMs, moved }, 'retriable failure; next attempt scheduled');
  return done({ state: moved ? 'pending' : 'dropped', nextAttempt: next, delayMs });
}

function failureOf(result: Exclude<UpstreamResult, { kind: 'aborted' | 'too-large' }>): FailureReason {
  switch (result.kind) {
    case 'response':
      return retriableHttpStatus(result.status, result.body);
    case 'network-error':
      return networkError(result.error);
    case 'timeout':
      return timeout(result.error);
  }
}
