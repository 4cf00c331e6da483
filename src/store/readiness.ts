import { sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { PGBOSS_SCHEMA } from '../db/pgboss.ts';

export interface MigrationState {
  /** drizzle's `created_at` of the newest applied migration (its journal `when`); 0 when none. */
  appliedMillis: number;
  /** Whether pg-boss's job table exists (its schema was installed). */
  queues: boolean;
}

/**
 * What the release step has applied. Undefined when drizzle's own bookkeeping table does
 * not exist yet (nothing was migrated).
 */
export async function readMigrationState(db: Executor): Promise<MigrationState | undefined> {
  try {
    const result = await db.execute<{ applied: string | number | null; boss: string | null }>(sql`
      SELECT (SELECT max(created_at) FROM drizzle.__drizzle_migrations) AS applied,
             to_regclass(${`${PGBOSS_SCHEMA}.job`})::text AS boss`);
    const row = result.rows[0];
    return { appliedMillis: Number(row?.applied ?? 0), queues: !!row?.boss };
  } catch (err) {
    // 42P01 undefined table, 3F000 undefined schema: drizzle never ran here.
    const code = (err as { code?: string }).code;
    if (code === '42P01' || code === '3F000') return undefined;
    throw err;
  }
}
