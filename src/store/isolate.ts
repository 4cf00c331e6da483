import { isRecordRejection, sqlState } from '../db/errors.ts';

/**
 * Writes `rows` with one statement, and when the database refuses a value of the batch
 * (isRecordRejection), finds the culprit by writing each row alone: rows that pass are
 * written, and a row refused alone is written as `degrade(row, code)` makes it (its bodies
 * dropped, failed with its reason). So one bad record never costs another (DESIGN 13). Any
 * other error (the database unavailable, a deadlock) is thrown: the whole batch is retried.
 * `onRejected` is told of each degraded row, for a log line and a metric.
 */
export async function writeIsolated<T, R>(
  rows: readonly T[],
  write: (rows: T[]) => Promise<Iterable<R>>,
  degrade: (row: T, code: string) => T,
  onRejected?: (row: T, code: string) => void,
): Promise<R[]> {
  try {
    return [...(await write([...rows]))];
  } catch (err) {
    if (!isRecordRejection(err)) throw err;
  }
  const out: R[] = [];
  for (const row of rows) {
    try {
      out.push(...(await write([row])));
    } catch (err) {
      if (!isRecordRejection(err)) throw err;
      const code = sqlState(err) ?? 'unknown';
      onRejected?.(row, code);
      out.push(...(await write([degrade(row, code)])));
    }
  }
  return out;
}
