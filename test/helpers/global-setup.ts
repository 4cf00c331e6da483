import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/embedded.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';

export const TEMPLATE_DB = 'volley_test_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL (any database) on the test server, for CREATE/DROP DATABASE. */
    adminUrl: string;
  }
}

let server: EmbeddedServer | undefined;

/** Starts the test server and migrates the template database every test file clones. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const dir = await mkdtemp(path.join(tmpdir(), 'volley-test-'));
    server = await startEmbeddedPostgres({ dataDir: path.join(dir, 'pg'), ephemeral: true });
    adminUrl = server.url('postgres');
  }
  const admin = new pg.Client(adminUrl);
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  await migrateDatabase(withDatabase(adminUrl, TEMPLATE_DB));
  project.provide('adminUrl', adminUrl);
  return async () => {
    await server?.stop();
  };
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}
