import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import type { StoredTurn } from '../../responses/chain.ts';

/** One turn of a `previous_response_id` chain, as expansion needs it (responses/chain.ts). */
export interface ChainTurn extends StoredTurn {
  id: string;
  previousRequestId: string | null;
}

/** Turns followed at most: a longer chain is refused rather than walked without end. */
export const MAX_CHAIN_TURNS = 1_000;

/**
 * The chain ending at `id`, oldest first: the request and every request it continues, walked
 * by primary key from `previous_request_id` to `previous_request_id` in one statement (a
 * recursive CTE), not one query per turn. Empty when there is no such row. Not a named
 * prepared statement (db/prepared.ts): tried, the chained call's added time grew with the
 * table, 6 → 31 ms over five repetitions of `BENCH_ONLY=p2chain` (most likely the generic
 * plan PostgreSQL switches to after five custom ones), against a steady 1.4-1.7 ms unnamed.
 */
export async function findResponseChain(db: Executor, id: string): Promise<ChainTurn[]> {
  const result = await db.execute<Record<string, unknown>>(sql`
    WITH RECURSIVE chain AS (
      SELECT r.id, r.previous_request_id, r.created_by, r.state, r.deleted_at IS NOT NULL AS deleted, r.store, r.endpoint,
             r.body, r.response_body, r.response_status, 1 AS depth
      FROM requests r WHERE r.id = ${id}
      UNION ALL
      SELECT p.id, p.previous_request_id, p.created_by, p.state, p.deleted_at IS NOT NULL, p.store, p.endpoint,
             p.body, p.response_body, p.response_status, c.depth + 1
      FROM chain c JOIN requests p ON p.id = c.previous_request_id
      WHERE c.depth < ${MAX_CHAIN_TURNS}
    )
    SELECT * FROM chain ORDER BY depth DESC`);
  return result.rows.map((r) => ({
    id: r.id as string,
    previousRequestId: (r.previous_request_id as string | null) ?? null,
    createdBy: r.created_by as string,
    state: r.state as string,
    deleted: r.deleted as boolean,
    store: r.store as boolean,
    endpoint: r.endpoint as string,
    body: r.body as string,
    responseBody: (r.response_body as string | null) ?? null,
    responseStatus: (r.response_status as number | null) ?? null,
  }));
}
