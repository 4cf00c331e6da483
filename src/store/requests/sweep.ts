import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { serializeFailureReason, trackingLost } from '../../responses/failure-reason.ts';
import { withTerminalNotify } from './rows.ts';

/** The sweeper's statements (DESIGN 8.3): rows nothing will ever finish are ended here. */

/**
 * The sweeper (DESIGN 8.3): realtime rows (`background` false, a `0s` batch, never claimed
 * by the processor) still `processing` and untouched for `staleAfterMs` lost their gateway
 * mid-request: a gateway touches the rows of every request it still holds (a long stream, a
 * completion it is still storing) well within that time (touchRequests). They become
 * `failed` with TrackingLost, at most `limit` per call, and are never sent upstream again;
 * a late complete-response still wins. Returns the ids it failed.
 */
export async function failLostRealtimeRequests(
  db: Executor,
  input: { staleAfterMs: number; limit?: number },
): Promise<string[]> {
  const reason = serializeFailureReason(trackingLost());
  const result = await db.execute<{ id: string }>(
    withTerminalNotify(sql`
      UPDATE requests r SET state = 'failed', error = ${reason}, failed_at = now(), updated_at = now()
      WHERE r.id IN (
        SELECT s.id FROM requests s JOIN batches b ON b.id = s.batch_id
        WHERE s.state = 'processing' AND s.updated_at < now() - make_interval(secs => ${input.staleAfterMs / 1_000})
          AND NOT s.background AND s.claimed_at IS NULL AND b.completion_window = '0s'
        ORDER BY s.started_at
        LIMIT ${input.limit ?? 1_000}
        FOR UPDATE OF s SKIP LOCKED
      )
      AND r.state = 'processing'
      RETURNING r.id`),
  );
  return result.rows.map((r) => r.id);
}

/**
 * Background and flex rows whose process-request job is gone (dead-lettered after repeated
 * crashes, or lost) would otherwise stay `pending` or `processing` forever. Once a row is
 * `abandonedAfterMs` past its `expires_at`, with no live claim (pending, or a claim older
 * than `claimTtlMs`), no attempt of it can still be running or due: it becomes `failed`
 * with `Expired`, carrying the last attempt's failure when there was one. At most `limit`
 * per call. Returns the ids it failed.
 */
export async function failAbandonedBackgroundRequests(
  db: Executor,
  input: { abandonedAfterMs: number; claimTtlMs: number; limit?: number },
): Promise<string[]> {
  const result = await db.execute<{ id: string }>(
    withTerminalNotify(sql`
      UPDATE requests r SET state = 'failed', failed_at = now(), updated_at = now(),
        error = jsonb_build_object('type', 'Expired', 'details', jsonb_strip_nulls(jsonb_build_object(
          'expires_at', to_char(r.expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'last', CASE WHEN r.error LIKE '{%' THEN r.error::jsonb END)))::text
      WHERE r.id IN (
        SELECT s.id FROM requests s
        WHERE s.state IN ('pending', 'claimed', 'processing') AND s.expires_at IS NOT NULL
          AND s.expires_at < now() - make_interval(secs => ${input.abandonedAfterMs / 1_000})
          AND (s.state <> 'processing' OR s.claimed_at < now() - make_interval(secs => ${input.claimTtlMs / 1_000}))
        ORDER BY s.expires_at
        LIMIT ${input.limit ?? 1_000}
        FOR UPDATE OF s SKIP LOCKED
      )
      AND r.state IN ('pending', 'claimed', 'processing')
      RETURNING r.id`),
  );
  return result.rows.map((r) => r.id);
}


/**
 * Marks rows as still held by a live gateway (their `updated_at`), so the sweeper leaves
 * them alone: the gateway runs it for every realtime request it holds, a few times per
 * sweep threshold. Rows already terminal, or not yet written, are not touched.
 */
export async function touchRequests(db: Executor, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.execute(
    sql`UPDATE requests SET updated_at = now() WHERE id = ANY(${sql.param([...ids])}::uuid[]) AND state = 'processing'`,
  );
}
