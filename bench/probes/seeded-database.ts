// What the retention probes start from: a sibling of the bench's database with ROWS (default
// 1,000,000) finished requests over 60 days, owned by ten users with a key each.
import type { BenchDatabase } from '../lib/database.ts';
import { seedRequests } from '../lib/seed.ts';
import { openDatabase, type Database } from '../../src/db/client.ts';
import { findOrCreateUser } from '../../src/store/users.ts';
import { insertApiKey } from '../../src/store/api-keys.ts';

export async function seededProbeDatabase(database: BenchDatabase, log: (line: string) => void): Promise<{ url: string; d: Database }> {
  const url = await database.sibling('seeded');
  const d = openDatabase(url, { max: 2, applicationName: 'inv' });
  const owners = [];
  for (let i = 0; i < 10; i++) {
    const u = await findOrCreateUser(d.db, `u${i}`);
    const k = await insertApiKey(d.db, { userId: u.id, allowedModels: null });
    owners.push({ userId: u.id, apiKeyId: k.id });
  }
  await seedRequests({ url, rows: Number(process.env.ROWS ?? 1_000_000), owners, days: 60, log });
  return { url, d };
}
