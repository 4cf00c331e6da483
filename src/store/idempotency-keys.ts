import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';

/**
 * Idempotency-Key claims (DESIGN 13). A key is claimed by the first call that brings it; a
 * later call with it either waits for that call's request (while its gateway renews the
 * lease), takes the request over under the same id (the lease lapsed: that gateway died), or
 * is refused (another body). After 24 hours the key is free again.
 */
export type IdempotencyClaim =
  /** This call claimed the key: it serves the request, under `requestId` (its own). */
  | { kind: 'new'; requestId: string }
  /** The holder's lease lapsed: this call serves the key's request now, under its id. */
  | { kind: 'taken-over'; requestId: string }
  /** Another call serves the key's request and is alive: wait for it. */
  | { kind: 'held'; requestId: string }
  /** The key was used with another body (or endpoint). */
  | { kind: 'mismatch' };

export interface ClaimInput {
  apiKeyId: string;
  key: string;
  bodyHash: string;
  endpoint: string;
  /** The id the request gets if this call claims the key. */
  requestId: string;
  leaseMs: number;
}

const DAY_SECONDS = 86_400;

export async function claimIdempotencyKey(db: Executor, input: ClaimInput): Promise<IdempotencyClaim> {
  const lease = sql`now() + make_interval(secs => ${input.leaseMs / 1_000})`;
  // A new key, or one whose 24 hours are over, is this call's.
  const inserted = await db.execute<{ request_id: string }>(sql`
    INSERT INTO idempotency_keys (api_key_id, key, body_hash, endpoint, request_id, lease_until, expires_at)
    VALUES (${input.apiKeyId}, ${input.key}, ${input.bodyHash}, ${input.endpoint}, ${input.requestId}, ${lease},
            now() + make_interval(secs => ${DAY_SECONDS}))
    ON CONFLICT (api_key_id, key) DO UPDATE SET
      body_hash = excluded.body_hash, endpoint = excluded.endpoint, request_id = excluded.request_id,
      lease_until = excluded.lease_until, created_at = now(), expires_at = excluded.expires_at
    WHERE idempotency_keys.expires_at <= now()
    RETURNING request_id`);
  if (inserted.rows[0]) return { kind: 'new', requestId: inserted.rows[0].request_id };
  // A new statement, so a new snapshot: it sees a concurrent claim that made ours conflict.
  const takenOver = await db.execute<{ request_id: string }>(sql`
    UPDATE idempotency_keys SET lease_until = ${lease}
    WHERE api_key_id = ${input.apiKeyId} AND key = ${input.key} AND body_hash = ${input.bodyHash}
      AND endpoint = ${input.endpoint} AND lease_until <= now() AND expires_at > now()
    RETURNING request_id`);
  if (takenOver.rows[0]) return { kind: 'taken-over', requestId: takenOver.rows[0].request_id };
  const existing = await db.execute<{ request_id: string; body_hash: string; endpoint: string }>(sql`
    SELECT request_id, body_hash, endpoint FROM idempotency_keys WHERE api_key_id = ${input.apiKeyId} AND key = ${input.key}`);
  const row = existing.rows[0];
  // Gone in between (expired and deleted): claim it afresh.
  if (!row) return claimIdempotencyKey(db, input);
  if (row.body_hash !== input.bodyHash || row.endpoint !== input.endpoint) return { kind: 'mismatch' };
  return { kind: 'held', requestId: row.request_id };
}

/** Renews the leases of keys this gateway serves (one statement for all of them). */
export async function renewIdempotencyLeases(
  db: Executor,
  keys: readonly { apiKeyId: string; key: string }[],
  leaseMs: number,
): Promise<void> {
  if (keys.length === 0) return;
  await db.execute(sql`
    UPDATE idempotency_keys k SET lease_until = now() + make_interval(secs => ${leaseMs / 1_000})
    FROM unnest(${sql.param(keys.map((k) => k.apiKeyId))}::uuid[], ${sql.param(keys.map((k) => k.key))}::text[]) AS t(api_key_id, key)
    WHERE k.api_key_id = t.api_key_id AND k.key = t.key`);
}

/** Deletes keys whose 24 hours are over, at most `limit`; returns how many. */
export async function deleteExpiredIdempotencyKeys(db: Executor, limit = 1_000): Promise<number> {
  const result = await db.execute(sql`
    DELETE FROM idempotency_keys WHERE ctid IN (
      SELECT ctid FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT ${limit})`);
  return result.rowCount ?? 0;
}
