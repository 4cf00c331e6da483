import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';

/** Soft delete: hidden from its owner, kept for analytics. True when this call deleted it. */
export async function markRequestDeleted(db: Executor, id: string): Promise<boolean> {
  const result = await db.execute(
    sql`UPDATE requests SET deleted_at = now(), updated_at = now() WHERE id = ${id} AND deleted_at IS NULL RETURNING id`,
  );
  return result.rows.length > 0;
}

