import { sql, type SQL } from 'drizzle-orm';
import type { Db, Executor, Tx } from '../db/client.ts';

/**
 * Folds pending usage contributions (appended by the triggers of migration 0007 as records
 * become terminal) into the rollups, at most `maxRows` per call, oldest first, deleting what it
 * folded in the same transaction: each contribution is counted exactly once, whatever crashes
 * when. One fold runs at a time across the deployment (a transaction-scoped advisory lock;
 * a worker that finds it taken skips its turn), so rollup rows are never contended. Returns
 * the contributions folded (0 also when another fold held the lock).
 */
export async function foldPendingUsage(db: Db, maxRows = FOLD_BATCH): Promise<number> {
  return db.transaction(async (tx) => {
    if (!(await tryRollupLock(tx))) return 0;
    const result = await tx.execute<{ n: number }>(sql`
      WITH moved AS (
        DELETE FROM usage_pending WHERE ctid = ANY(ARRAY(SELECT ctid FROM usage_pending LIMIT ${maxRows})) RETURNING *
      ),
      spread AS (
        SELECT g.name AS granularity, date_trunc(g.name, m.bucket_ts, 'UTC') AS bucket_start, m.*
        FROM moved m CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(name)
      ),
      coarse AS (
        INSERT INTO usage_rollups AS t (granularity, bucket_start, model, service_tier, endpoint, error_class, requests,
                                        input_tokens, output_tokens, cached_tokens, reasoning_tokens,
                                        latency_hist, ttft_hist, queue_hist)
        SELECT granularity, bucket_start, model, service_tier, endpoint, error_class, sum(sign), sum(input_tokens),
               sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens),
               volley_hist_of(array_agg(latency_bucket), array_agg(sign)), volley_hist_of(array_agg(ttft_bucket), array_agg(sign)),
               volley_hist_of(array_agg(queue_bucket), array_agg(sign))
        FROM spread GROUP BY 1, 2, 3, 4, 5, 6
        ON CONFLICT (granularity, bucket_start, model, service_tier, endpoint, error_class) DO UPDATE SET ${ADD}
        RETURNING 1
      ),
      by_key AS (
        INSERT INTO usage_rollups_by_key AS t (granularity, bucket_start, model, user_id, api_key_id, service_tier, endpoint,
                                               error_class, requests, input_tokens, output_tokens, cached_tokens,
                                               reasoning_tokens, latency_hist, ttft_hist, queue_hist)
        SELECT granularity, bucket_start, model, user_id, api_key_id, service_tier, endpoint, error_class, sum(sign),
               sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens),
               volley_hist_of(array_agg(latency_bucket), array_agg(sign)), volley_hist_of(array_agg(ttft_bucket), array_agg(sign)),
               volley_hist_of(array_agg(queue_bucket), array_agg(sign))
        FROM spread GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
        ON CONFLICT (granularity, bucket_start, model, user_id, api_key_id, service_tier, endpoint, error_class) DO UPDATE SET ${ADD}
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM moved)::int AS n, (SELECT count(*) FROM coarse) + (SELECT count(*) FROM by_key) AS rollups`);
    return result.rows[0]?.n ?? 0;
  });
}

/** Contributions per fold: one statement of a few hundred milliseconds at most. */
export const FOLD_BATCH = 20_000;

const ADD = sql.raw(`
  requests = t.requests + excluded.requests,
  input_tokens = t.input_tokens + excluded.input_tokens,
  output_tokens = t.output_tokens + excluded.output_tokens,
  cached_tokens = t.cached_tokens + excluded.cached_tokens,
  reasoning_tokens = t.reasoning_tokens + excluded.reasoning_tokens,
  latency_hist = volley_hist_add(t.latency_hist, excluded.latency_hist),
  ttft_hist = volley_hist_add(t.ttft_hist, excluded.ttft_hist),
  queue_hist = volley_hist_add(t.queue_hist, excluded.queue_hist)`);

/** The rollups' one-writer lock: a transaction-scoped advisory lock, deployment-wide. */
const ROLLUP_LOCK = sql`hashtextextended('volley:usage-fold', 0)`;

/** Takes the rollups' lock to the end of the transaction; false when another holds it. */
async function tryRollupLock(tx: Tx): Promise<boolean> {
  const lock = await tx.execute<{ got: boolean }>(sql`SELECT pg_try_advisory_xact_lock(${ROLLUP_LOCK}) AS got`);
  return lock.rows[0]?.got === true;
}

/** The two rollup tables, each with minute, hour and day rows. */
export const ROLLUP_TABLES = ['usage_rollups', 'usage_rollups_by_key'] as const;

/**
 * Retention of minute buckets: deletes one table's minute rows that start before `before`, at
 * most `limit` per call, oldest first (a range of the primary key, which leads with
 * granularity and bucket_start). Hour and day rows are kept for ever. A minute row may stand
 * for a single request, so minute rows kept past the requests they count would keep much of
 * what retention frees; an hour row stands for up to 60 of them.
 * Under the fold's lock, so the rollups keep one writer at a time (no deadlock between a
 * fold's upserts and these deletes). It waits for the lock: a fold holds it for one short
 * statement, and a fold that finds retention holding it skips its turn, as it does for
 * another fold. Returns the rows deleted.
 */
export async function deleteMinuteRollupsBefore(
  db: Executor,
  table: (typeof ROLLUP_TABLES)[number],
  before: Date,
  limit: number,
): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(${ROLLUP_LOCK})`);
    const result = await tx.execute<{ n: number }>(deleteMinuteRollupsBeforeSql(table, before, limit));
    return result.rows[0]?.n ?? 0;
  });
}

/** The statement of deleteMinuteRollupsBefore. */
export function deleteMinuteRollupsBeforeSql(table: (typeof ROLLUP_TABLES)[number], before: Date, limit: number): SQL {
  const t = sql.identifier(table);
  return sql`
    WITH gone AS (
      DELETE FROM ${t} WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM ${t} WHERE granularity = 'minute' AND bucket_start < ${before.toISOString()}::timestamptz
        ORDER BY granularity, bucket_start LIMIT ${limit}))
      RETURNING 1
    )
    SELECT count(*)::int AS n FROM gone`;
}
