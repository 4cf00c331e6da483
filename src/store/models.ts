import { asc, eq, sql } from 'drizzle-orm';
import { MODELS_CHANNEL } from '../db/channels.ts';
import type { Executor } from '../db/client.ts';
import { models, type ModelApi, type ModelRow } from '../db/schema/index.ts';

/**
 * The `models` table (DESIGN 10). Every write announces the model's name on MODELS_CHANNEL
 * in its own transaction, so every process's catalog reloads as the change commits.
 */
export interface ModelInput {
  name: string;
  upstreamUrl: string;
  api: ModelApi;
  upstreamApiKeyEnv: string | null;
  concurrency: number | null;
}

export async function listModels(db: Executor): Promise<ModelRow[]> {
  return db.select().from(models).orderBy(asc(models.name));
}

export async function findModel(db: Executor, name: string): Promise<ModelRow | undefined> {
  return (await db.select().from(models).where(eq(models.name, name)))[0];
}

/** Inserts a model; undefined when one of that name exists. */
export async function insertModel(db: Executor, input: ModelInput): Promise<ModelRow | undefined> {
  return db.transaction(async (tx) => {
    const rows = await tx.insert(models).values(input).onConflictDoNothing({ target: models.name }).returning();
    if (rows[0]) await announce(tx, input.name);
    return rows[0];
  });
}

/** Updates the given fields; undefined when there is no such model. */
export async function updateModel(
  db: Executor,
  name: string,
  changes: Partial<Omit<ModelInput, 'name'>>,
): Promise<ModelRow | undefined> {
  return db.transaction(async (tx) => {
    const rows = await tx
      .update(models)
      .set({ ...changes, updatedAt: sql`now()` })
      .where(eq(models.name, name))
      .returning();
    if (rows[0]) await announce(tx, name);
    return rows[0];
  });
}

/** Deletes a model; false when there was none. */
export async function deleteModel(db: Executor, name: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const rows = await tx.delete(models).where(eq(models.name, name)).returning({ name: models.name });
    if (rows[0]) await announce(tx, name);
    return rows.length > 0;
  });
}

async function announce(db: Executor, name: string): Promise<void> {
  await db.execute(sql`SELECT pg_notify(${MODELS_CHANNEL}, ${name.slice(0, 7_000)})`);
}
