import { randomUUID } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/** Namespace for volley's deterministic ids (a fixed random UUID; never change it). */
const VOLLEY_NAMESPACE = '6f1c3e9a-5d0b-4c47-9d0e-2a8f7b3c1e55';

/**
 * The id of the job that `queue` runs for `requestId`. Deterministic, so a producer that
 * retries after an ambiguous error (timeout, lost connection) re-sends the same job id and
 * pg-boss drops the duplicate instead of running it twice.
 */
export function jobId(queue: string, requestId: string): string {
  return uuidv5(`${queue}:${requestId}`, VOLLEY_NAMESPACE);
}

export function newId(): string {
  return randomUUID();
}
