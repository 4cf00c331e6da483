// The Procfile's `release` step: apply drizzle migrations and pg-boss's schema, then exit.
import { migrateDatabase } from '../src/db/migrate.ts';
import { loadConfigOrExit, requireDatabaseUrl } from '../src/roles/lifecycle.ts';
import { createLogger } from '../src/logger.ts';

const env = loadConfigOrExit(process.env);
const log = createLogger(env.LOG_LEVEL);
const started = Date.now();
await migrateDatabase(requireDatabaseUrl(env, 'release'));
log.info({ ms: Date.now() - started }, 'migrations applied');
