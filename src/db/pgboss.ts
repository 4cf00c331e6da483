import { jobId } from '../ids.ts';

/**
 * What volley's own SQL knows about pg-boss: the schema it is installed in and the names of
 * volley's queues. The request processor's claim function (drizzle/0001, 0003) reads
 * pg-boss's job table directly, by these names and by the columns listed here, so a pg-boss
 * upgrade that changed them would break claims silently; test/integration/db/pgboss-contract
 * checks them against the installed schema. pg-boss is pinned to an exact version for the
 * same reason.
 */

/** pg-boss's schema (its default), where the release step installs it. */
export const PGBOSS_SCHEMA = 'pgboss';

/** Every queue, by role. A queue's name equals its handler's file name; its dead-letter queue adds `.dlq`. */
export const QUEUES = Object.freeze({
  createResponse: 'create-response',
  completeResponse: 'complete-response',
  processRequest: 'process-request',
  sweep: 'sweep',
} as const);

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/**
 * The id of the process-request job for `attempt` (0-based) of a request: deterministic, so
 * a producer retry cannot create a second job, and a run can tell a first attempt's job
 * from a retry's without reading the row.
 */
export function processRequestJobId(requestId: string, attempt: number): string {
  return jobId(QUEUES.processRequest, attempt === 0 ? requestId : `${requestId}#${attempt}`);
}

/** The columns of `pgboss.job` the claim function reads, with the types it relies on. */
export const CLAIMED_JOB_COLUMNS = Object.freeze({
  name: 'text',
  id: 'uuid',
  state: 'USER-DEFINED',
  retry_count: 'integer',
  started_on: 'timestamp with time zone',
} as const);

/** The job states the claim compares with (pg-boss's `job_state` enum). */
export const CLAIMED_JOB_STATES = ['active'] as const;
