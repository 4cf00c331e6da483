import type { PgBoss } from 'pg-boss';
import { createAttemptRunner, type AttemptRunnerDeps } from '../../processor/attempts.ts';
import type { SendNextAttempt } from '../../processor/attempt.ts';
import { PRIORITY, QUEUE_OPTIONS, QUEUES, type ProcessRequestPayload } from '../definitions.ts';
import { sendProcessRequest } from '../batch-of-1.ts';
import type { BatchHandler } from '../run.ts';

/** No attempt outlives its job's expiry, so a claim older than that holds no model slot. */
export const CLAIM_TTL_MS = (QUEUE_OPTIONS[QUEUES.processRequest].expireInSeconds ?? 900) * 1_000;

export type ProcessRequestDeps = Omit<AttemptRunnerDeps, 'sendNextAttempt' | 'claimTtlMs'> & { boss: PgBoss };

/**
 * process-request: the request processor (processor/) run on pg-boss's jobs. A retry is the
 * next attempt's own job, sent in the transaction that moves the row back to `pending`.
 */
export function processRequestHandler(deps: ProcessRequestDeps): BatchHandler<ProcessRequestPayload> {
  const { boss, ...rest } = deps;
  const sendNextAttempt: SendNextAttempt = (tx, next) =>
    sendProcessRequest(boss, tx, next.requestId, {
      priority: next.serviceTier === 'flex' ? PRIORITY.flex : PRIORITY.background,
      model: next.model,
      attempt: next.attempt,
      startAfter: next.startAfter,
    });
  const run = createAttemptRunner({ ...rest, sendNextAttempt, claimTtlMs: CLAIM_TTL_MS });
  return (jobs, log) => run(jobs.map((j) => ({ id: j.id, retryCount: j.retryCount, signal: j.signal, requestId: j.data.requestId })), log);
}
