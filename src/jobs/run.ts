import type { Job, JobResult, PgBoss, WorkOptions } from 'pg-boss';
import type { Logger } from '../logger.ts';
import { jobOutcomes } from '../metrics.ts';
import { ENVELOPES, PAYLOADS, type PayloadOf, type QueueName } from './definitions.ts';

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

/** Job runner events that feed the job outcome metric; every role that runs jobs passes them. */
export const jobMetricsEvents: JobEvents = {
  onOutcome: (queue, outcome, count) => jobOutcomes.inc({ queue, outcome }, count),
};

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
  const valid: ValidJob<PayloadOf<Q>>[] = [];
  // An envelope's records reach the handler as jobs of their own ("<job id>/<index>"); the
  // envelope is settled from all of theirs.
  const parts = new Map<string, { ids: string[]; envelope: boolean }>();
  const results: JobResult[] = [];
  for (const job of jobs) {
    const parsed = parsePayload(queue, job.data);
    if ('error' in parsed) {
      const error = `invalid ${queue} payload: ${parsed.error}`;
      log.warn({ jobId: job.id, error }, 'invalid job payload, dead-lettered');
      results.push({ id: job.id, status: 'deadletter', output: { error } });
      continue;
    }
    const common = { retryCount: job.retryCount, signal: job.signal };
    if (parsed.records === undefined) {
      valid.push({ id: job.id, ...common, data: parsed.record });
      parts.set(job.id, { ids: [job.id], envelope: false });
    } else {
      const ids = parsed.records.map((data, i) => {
        const id = `${job.id}/${i}`;
        valid.push({ id, ...common, data });
        return id;
      });
      parts.set(job.id, { ids, envelope: true });
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
    for (const [jobId, { ids, envelope }] of parts) {
      const outcome = envelopeOutcome(ids.map((id) => outcomes.get(id) ?? MISSING_OUTCOME), envelope);
      results.push(
        outcome.status === 'completed'
          ? { id: jobId, status: 'completed', output: outcome.output }
          : { id: jobId, status: outcome.status, output: { error: outcome.error } },
      );
    }
  }
  if (events.onOutcome) {
    // Counted per record, so the figures do not depend on how records were enveloped.
    const counts = new Map<Outcome['status'], number>();
    for (const r of results) counts.set(r.status, (counts.get(r.status) ?? 0) + (parts.get(r.id)?.ids.length ?? 1));
    for (const [status, n] of counts) events.onOutcome(queue, status, n);
  }
  return results;
}

const MISSING_OUTCOME: Outcome = { status: 'failed', error: 'handler returned no outcome for this job' };

type Parsed<T> = { record: T; records?: undefined } | { records: T[] } | { error: string };

/** A job's payload against its queue's schema: one record, an envelope of them, or why not. */
function parsePayload<Q extends QueueName>(queue: Q, data: unknown): Parsed<PayloadOf<Q>> {
  const envelope = ENVELOPES[queue];
  const isEnvelope = envelope !== undefined && typeof data === 'object' && data !== null && 'records' in data;
  const parsed = (isEnvelope ? envelope : PAYLOADS[queue]).safeParse(data);
  if (!parsed.success) {
    return { error: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ') };
  }
  return isEnvelope
    ? { records: (parsed.data as { records: PayloadOf<Q>[] }).records }
    : { record: parsed.data as PayloadOf<Q> };
}

/**
 * One outcome for a job from its records' outcomes. A record that must be retried retries
 * the envelope (its other records are idempotent); one that cannot succeed dead-letters it,
 * records and all, so nothing is dropped.
 */
function envelopeOutcome(outcomes: Outcome[], isEnvelope: boolean): Outcome {
  if (!isEnvelope) return outcomes[0]!;
  const dead = outcomes.find((o) => o.status === 'deadletter');
  const failed = outcomes.find((o) => o.status === 'failed');
  const bad = dead ?? failed;
  if (bad && bad.status !== 'completed') {
    const n = outcomes.filter((o) => o.status !== 'completed').length;
    return { status: bad.status, error: `${n} of ${outcomes.length} records: ${bad.error}` };
  }
  return { status: 'completed', output: { records: outcomes.length } };
}

/**
 * Rows per write statement in the batch handlers. A fetch of envelopes can carry thousands
 * of records; statements of this size keep each one's memory and lock time bounded.
 */
export const MAX_ROWS_PER_STATEMENT = 1_000;

/** Runs `write` over consecutive slices of `rows`, one after another. */
export async function inStatements<T, R>(rows: readonly T[], write: (slice: T[]) => Promise<Iterable<R>>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < rows.length; i += MAX_ROWS_PER_STATEMENT) {
    out.push(...(await write(rows.slice(i, i + MAX_ROWS_PER_STATEMENT))));
  }
  return out;
}
