import type { Job, JobResult, PgBoss, WorkOptions } from 'pg-boss';
import type { Logger } from '../logger.ts';
import { PAYLOADS, type PayloadOf, type QueueName } from './definitions.ts';

/** A job whose payload passed its queue's zod schema. */
export interface ValidJob<T> {
  id: string;
  retryCount: number;
  signal: AbortSignal;
  data: T;
}

export type Outcome = { status: 'completed'; output?: object } | { status: 'failed' | 'deadletter'; error: string };

/**
 * A batch handler: gets every valid job of a fetch, returns an outcome per job id. Jobs it
 * leaves out are failed (and retried) by the runner, so forgetting one never loses it.
 */
export type BatchHandler<T> = (jobs: ValidJob<T>[], log: Logger) => Promise<Map<string, Outcome>>;

export interface JobEvents {
  onOutcome?(queue: QueueName, outcome: Outcome['status'], count: number): void;
}

/**
 * The one place that settles jobs. Payloads that fail their schema go to the dead-letter
 * queue at once (retrying cannot fix them) with an error naming each bad field; a handler
 * that throws fails only its own batch's valid jobs, which pg-boss retries with backoff,
 * unless the error says it is not retryable (`retryable === false`), then they dead-letter.
 * `perJobResults` settles each job on its own, so a bad job never drags its batch-mates.
 */
export async function work<Q extends QueueName>(
  boss: PgBoss,
  queue: Q,
  options: Omit<WorkOptions, 'perJobResults' | 'transactional'>,
  handler: BatchHandler<PayloadOf<Q>>,
  log: Logger,
  events: JobEvents = {},
): Promise<string> {
  const queueLog = log.child({ queue });
  return boss.work(queue, { ...options, perJobResults: true }, async (jobs: Job<unknown>[]) =>
    settle(queue, jobs, handler, queueLog, events),
  );
}

export async function settle<Q extends QueueName>(
  queue: Q,
  jobs: Job<unknown>[],
  handler: BatchHandler<PayloadOf<Q>>,
  log: Logger,
  events: JobEvents = {},
): Promise<JobResult[]> {
  const schema = PAYLOADS[queue];
  const valid: ValidJob<PayloadOf<Q>>[] = [];
  const results: JobResult[] = [];
  for (const job of jobs) {
    const parsed = schema.safeParse(job.data);
    if (parsed.success) {
      valid.push({ id: job.id, retryCount: job.retryCount, signal: job.signal, data: parsed.data as PayloadOf<Q> });
    } else {
      const error = `invalid ${queue} payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`;
      log.warn({ jobId: job.id, error }, 'invalid job payload, dead-lettered');
      results.push({ id: job.id, status: 'deadletter', output: { error } });
    }
  }
  if (valid.length > 0) {
    let outcomes: Map<string, Outcome>;
    try {
      outcomes = await handler(valid, log);
    } catch (err) {
      const retryable = !(err instanceof Error && 'retryable' in err && err.retryable === false);
      const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      log.error({ err, jobs: valid.length, retryable }, 'job batch failed');
      outcomes = new Map(valid.map((j) => [j.id, { status: retryable ? 'failed' : 'deadletter', error }]));
    }
    for (const job of valid) {
      const outcome = outcomes.get(job.id) ?? { status: 'failed', error: 'handler returned no outcome for this job' };
      results.push(
        outcome.status === 'completed'
          ? { id: job.id, status: 'completed', output: outcome.output }
          : { id: job.id, status: outcome.status, output: { error: outcome.error } },
      );
    }
  }
  if (events.onOutcome) {
    const counts = new Map<Outcome['status'], number>();
    for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
    for (const [status, n] of counts) events.onOutcome(queue, status, n);
  }
  return results;
}
