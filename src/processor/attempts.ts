// The request processor's batch runner: what a fetch of process-request jobs becomes
// (DESIGN 8.1). The queue layer (jobs/handlers/process-request.ts) feeds it; one attempt's
// life is in attempt.ts.
import { observeRecord } from '../metrics.ts';
import type { Db } from '../db/client.ts';
import { processRequestJobId } from '../db/pgboss.ts';
import pRetry from 'p-retry';
import { Coalescer } from '../lib/coalescer.ts';
import type { Logger } from '../logger.ts';
import { claimRequestAttempts, type AdmissionLimits, type AttemptToClaim, type ClaimResult } from '../store/requests/attempt-claims.ts';
import { finishRequestAttempts, type AttemptOutcome } from '../store/requests/attempt-outcomes.ts';
import { recordRejected } from '../responses/failure-reason.ts';
import { writeIsolated } from '../store/isolate.ts';
import { findRequestDetails } from '../store/requests/find.ts';
import { isTerminal, type RequestDetail } from '../store/requests/rows.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import type { BackoffPolicy } from '../upstream/retry-policy.ts';
import type { ModelCatalog } from '../upstream/model-catalog.ts';
import { done, runAttempt, type AttemptJob, type AttemptRunOutcome, type SendNextAttempt } from './attempt.ts';
import type { InFlightCall, InFlightCalls } from './in-flight.ts';

export interface AttemptRunnerDeps {
  db: Db;
  catalog: ModelCatalog;
  client: Pick<UpstreamClient, 'call'>;
  inFlight: InFlightCalls;
  backoff: BackoffPolicy;
  sendNextAttempt: SendNextAttempt;
  /**
   * Per-model concurrency across all processes, read at each claim (the models table can
   * change it at any time); unset: no admission check at claim time.
   */
  modelConcurrency?: () => { default: number; overrides?: Readonly<Record<string, number>> };
  /** A claim older than this holds no model slot (no attempt outlives its job's expiry). */
  claimTtlMs: number;
  random?: () => number;
}

/** Runs a fetch of jobs; returns an outcome per job id. */
export type AttemptRunner = (jobs: AttemptJob[], log: Logger) => Promise<Map<string, AttemptRunOutcome>>;

/**
 * process-request (DESIGN 8.1): one attempt of a background or flex request.
 *
 * Claim the row (pending → processing, fenced, see store/requests/attempt-claims.ts); a row that
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
export function createAttemptRunner(deps: AttemptRunnerDeps): AttemptRunner {
  // Terminal writes of concurrent attempts (across this process's fetch loops) go to the
  // database together: one fenced UPDATE (and NOTIFY) per flush, each attempt told whether
  // its own row was written.
  const terminal = new Coalescer<PendingOutcome>(
    async (items) => {
      // An answer the database refuses is written alone, the attempt failed with
      // RecordRejected and no body (so the job completes: a background request whose
      // answer cannot be stored is not sent upstream again); its batch-mates are written.
      type Indexed = AttemptOutcome & { index: number };
      const rejected = (o: Indexed, code: string): Indexed => ({
        claim: o.claim,
        index: o.index,
        state: 'failed',
        reason: recordRejected({ stage: 'store', code, ...(o.state === 'completed' ? { status: o.status } : {}) }),
      });
      const written = await writeIsolated<Indexed, readonly [number, boolean]>(
        items.map((item, i) => ({ ...item.outcome, index: i })),
        async (batch) => (await finishRequestAttempts(deps.db, batch, observeRecord)).map((w, k) => [batch[k]!.index, w] as const),
        rejected,
      );
      for (const [index, w] of written) items[index]!.written = w;
    },
    { maxBatch: 64, maxInFlight: 1 },
  );
  // The upstream has answered: failing the job now would send the request upstream again on
  // its retry. So a terminal write that fails for want of the database is retried here, for
  // about a minute, before the job is given back.
  const finish = async (outcome: AttemptOutcome): Promise<boolean> => {
    const item: PendingOutcome = { outcome, written: false };
    await pRetry(() => terminal.add(item), FINISH_RETRY);
    return item.written;
  };
  const limits = (): AdmissionLimits | undefined =>
    deps.modelConcurrency && { ...deps.modelConcurrency(), claimTtlMs: deps.claimTtlMs };
  const claim = (attempts: readonly AttemptToClaim[]): Promise<ClaimResult[]> => claimRequestAttempts(deps.db, attempts, limits());

  return async (jobs, log) => {
    const outcomes = new Map<string, AttemptRunOutcome>();
    // Most jobs are a request's first attempt, whose job id says so: those are claimed
    // without reading their row first (the claim is fenced on the attempt, and says why it
    // did not claim). A retry's job id does not carry its attempt: those rows are read.
    const firstAttempt = new Map(jobs.map((j) => [j.id, j.id === processRequestJobId(j.requestId, 0)]));
    const toRead = jobs.filter((j) => !firstAttempt.get(j.id)).map((j) => j.requestId);
    const details = new Map((await findRequestDetails(deps.db, toRead)).map((d) => [d.id, d]));
    const toClaim: { job: AttemptJob; attempt: number; call: InFlightCall }[] = [];
    for (const job of jobs) {
      let attempt = 0;
      if (!firstAttempt.get(job.id)) {
        const detail = details.get(job.requestId);
        const skipped = skipReason(job, detail);
        if (skipped) {
          outcomes.set(job.id, done(skipped));
          continue;
        }
        attempt = detail!.retryAttempt;
      }
      // Registered before the claim: a cancel that commits after the claim finds the call here.
      toClaim.push({ job, attempt, call: deps.inFlight.register(job.requestId) });
    }
    let claims: ClaimResult[];
    try {
      claims = await claim(toClaim.map(({ job, attempt }) => ({ requestId: job.requestId, attempt, job })));
    } catch (err) {
      for (const { call } of toClaim) call.release();
      throw err;
    }
    await Promise.all(
      toClaim.map(async ({ job, attempt, call }, i) => {
        const jobLog = log.child({ jobId: job.id, retryCount: job.retryCount, requestId: job.requestId });
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


/** ~1 minute of retries: 0.1 s doubling to 10 s. */
const FINISH_RETRY = { retries: 9, factor: 2, minTimeout: 100, maxTimeout: 10_000, randomize: true } as const;

interface PendingOutcome {
  outcome: AttemptOutcome;
  written: boolean;
}

/** Why a job needs no attempt: its row is missing or terminal, or it is not the row's current attempt. */
function skipReason(job: AttemptJob, detail: RequestDetail | undefined): Record<string, unknown> | undefined {
  if (!detail) return { skipped: 'missing' };
  if (isTerminal(detail.state)) return { skipped: detail.state };
  if (job.id !== processRequestJobId(job.requestId, detail.retryAttempt)) {
    return { skipped: 'stale attempt', attempt: detail.retryAttempt };
  }
  return undefined;
}
