import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { RequestRow, TerminalState } from '../../db/schema/index.ts';
import { CANCEL_CHANNEL, TERMINAL_CHANNEL } from '../../db/channels.ts';
import { TERMINAL_SQL, toRequestRow } from './rows.ts';

export type CancelResult =
  | { kind: 'canceled'; row: RequestRow }
  /** Nothing changed: the request had already finished (or was canceled before). */
  | { kind: 'already-terminal'; state: TerminalState; row: RequestRow }
  | { kind: 'missing' };

/**
 * Cancels a request: a `pending`, `claimed` or `processing` row becomes `canceled` at once
 * (its batch of one is marked cancelled too). The same statement announces the id on
 * TERMINAL_CHANNEL (waiters wake) and on CANCEL_CHANNEL (the flex process holding the
 * upstream call aborts it; the processor's writes are guarded on `processing`, so its late
 * answer cannot overwrite `canceled`). Cancelling twice is harmless: the second call
 * returns `already-terminal`. Ownership and "background only" are the caller's checks.
 */
export async function cancelRequest(db: Executor, id: string): Promise<CancelResult> {
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH changed AS (
      UPDATE requests SET state = 'canceled', canceled_at = now(), updated_at = now()
      WHERE id = ${id} AND state NOT IN ${TERMINAL_SQL}
      RETURNING *
    ),
    batch AS (
      UPDATE batches b SET cancelled_at = now(), updated_at = now()
      FROM changed WHERE b.id = changed.batch_id AND b.total_requests = 1 AND b.cancelled_at IS NULL
      RETURNING b.id
    ),
    notified AS (
      SELECT pg_notify(${TERMINAL_CHANNEL}, id::text), pg_notify(${CANCEL_CHANNEL}, id::text) FROM changed
    )
    SELECT changed.* FROM changed
    WHERE (SELECT count(*) FROM notified) >= 0 AND (SELECT count(*) FROM batch) >= 0`);
  const changed = result.rows[0];
  if (changed) return { kind: 'canceled', row: toRequestRow(changed) };
  const current = await db.execute<Record<string, unknown>>(sql`SELECT * FROM requests WHERE id = ${id}`);
  const row = current.rows[0];
  if (!row) return { kind: 'missing' };
  const existing = toRequestRow(row);
  // Not terminal: the row was inserted after the UPDATE looked (terminal rows never change back).
  if (existing.state !== 'completed' && existing.state !== 'failed' && existing.state !== 'canceled') {
    return cancelRequest(db, id);
  }
  return { kind: 'already-terminal', state: existing.state, row: existing };
}
