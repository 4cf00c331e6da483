import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';

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

/**
 * A new request or batch id: a UUIDv7, time-ordered (48 bits of milliseconds, then 74 random
 * bits), so the primary keys and the batch_id index grow at their right edge instead of
 * touching a random leaf page of a table-sized index per insert. With 5,000,000 rows present
 * (bench P6), random v4 ids made a sequential tracked call cost 1.33 times as much as on an
 * empty table. It reveals when a request was made, which its object says anyway.
 */
export function newId(): string {
  return uuidv7();
}
