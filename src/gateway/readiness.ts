// GET /readyz: the database answers and every migration this code ships is applied (the
// release step ran), so requests will not fail on a missing table.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Db } from '../db/client.ts';
import { MIGRATIONS_FOLDER } from '../db/migrate.ts';
import { readMigrationState } from '../store/readiness.ts';
import type { Readiness } from './context.ts';

/** drizzle records each applied migration with its journal `when` as `created_at`. */
function latestMigrationMillis(): number {
  const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: { when: number }[];
  };
  return Math.max(0, ...journal.entries.map((e) => e.when));
}

export function databaseReadiness(db: Db, timeoutMs = 2_000): () => Promise<Readiness> {
  const expected = latestMigrationMillis();
  return async () => {
    const checks: Record<string, string> = {};
    try {
      const state = await withTimeout(readMigrationState(db), timeoutMs);
      checks.database = 'ok';
      checks.migrations = state && state.appliedMillis >= expected ? 'ok' : 'pending: run npm run migrate';
      if (state) checks.queues = state.queues ? 'ok' : 'missing: run npm run migrate';
    } catch (err) {
      checks.database = `unreachable: ${err instanceof Error ? err.message : String(err)}`;
    }
    return { ok: Object.values(checks).every((c) => c === 'ok') && Object.keys(checks).length >= 3, checks };
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
