import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { PgBoss } from 'pg-boss';
import { openDatabase } from './client.ts';

export const MIGRATIONS_FOLDER = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../drizzle');

/**
 * Applies volley's drizzle migrations and installs or upgrades pg-boss's schema, then
 * returns. This is the Procfile's `release` step; every other role assumes it has run.
 * Both are safe to run concurrently (each takes an advisory lock).
 */
export async function migrateDatabase(url: string): Promise<void> {
  const database = openDatabase(url, { max: 2, applicationName: 'volley-migrate' });
  try {
    await migrate(database.db, { migrationsFolder: MIGRATIONS_FOLDER });
  } finally {
    await database.close();
  }
  const boss = new PgBoss({ connectionString: url, max: 2, supervise: false, schedule: false, migrate: true, registerInstance: false });
  boss.on('error', () => {});
  await boss.start();
  await boss.stop({ graceful: false, timeout: 1_000 });
}
