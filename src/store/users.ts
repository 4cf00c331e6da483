import { eq, sql } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import { users } from '../db/schema/index.ts';

export interface User {
  id: string;
  name: string;
}

/**
 * The user called `name`, created if it does not exist. One statement: the no-op update on
 * conflict makes RETURNING yield the existing row, so two concurrent calls get the same id.
 */
export async function findOrCreateUser(db: Executor, name: string): Promise<User> {
  const rows = await db
    .insert(users)
    .values({ name })
    .onConflictDoUpdate({ target: users.name, set: { name: sql`excluded.name` } })
    .returning({ id: users.id, name: users.name });
  return rows[0]!;
}

export async function findUserByName(db: Executor, name: string): Promise<User | undefined> {
  const rows = await db.select({ id: users.id, name: users.name }).from(users).where(eq(users.name, name));
  return rows[0];
}
