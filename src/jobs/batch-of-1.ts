import { sql } from 'drizzle-orm';
import { fromDrizzle, type PgBoss } from 'pg-boss';
import type { Db } from '../db/client.ts';
import { processRequestJobId } from '../db/pgboss.ts';
import type { ServiceTier } from '../db/schema/requests.ts';
import { parseDuration } from '../lib/duration.ts';
import { createSingleRequestBatch } from '../store/requests/create.ts';
import { PRIORITY, QUEUES, type ProcessRequestPayload } from './definitions.ts';

export interface BatchOf1Input {
  requestId: string;
  body: string;
  model: string;
  endpoint: string;
  serviceTier: ServiceTier;
  background: boolean;
  createdBy: string;
  apiKeyId: string | null;
  /** '10m' (realtime background) or '1h' (flex); sets expires_at. */
  completionWindow: string;
  /** The request this one continues (`previous_response_id`, checked by the caller). */
  previousRequestId?: string | null;
  receivedAt?: Date;
  metadata?: Record<string, string> | null;
  endUser?: string | null;
}

/**
 * A background or flex request: the pending row and its process-request job in one
 * transaction, so neither exists without the other (the reference ran background work in a
 * spawned task and lost it on a crash). Flex runs at low priority. The job's group is the
 * model, which is what per-model concurrency limits count. Idempotent on requestId: returns
 * the new row's `created_at`, or null when the row already existed (and sends no job).
 */
export async function createBatchOf1(db: Db, boss: PgBoss, input: BatchOf1Input): Promise<Date | null> {
  const windowMs = parseDuration(input.completionWindow);
  if (windowMs === undefined) throw new Error(`invalid completion window ${input.completionWindow}`);
  return db.transaction(async (tx) => {
    const createdAt = await createSingleRequestBatch(tx, {
      requestId: input.requestId,
      batchId: input.requestId,
      endpoint: input.endpoint,
      model: input.model,
      serviceTier: input.serviceTier,
      background: input.background,
      body: input.body,
      createdBy: input.createdBy,
      apiKeyId: input.apiKeyId,
      state: 'pending',
      completionWindow: input.completionWindow,
      expiresAt: new Date(Date.now() + windowMs),
      previousRequestId: input.previousRequestId ?? null,
      receivedAt: input.receivedAt ?? null,
      metadata: input.metadata ?? null,
      endUser: input.endUser ?? null,
    });
    if (createdAt === null) return null;
    await sendProcessRequest(boss, tx, input.requestId, {
      priority: input.serviceTier === 'flex' ? PRIORITY.flex : PRIORITY.background,
      model: input.model,
    });
    return createdAt;
  });
}

/**
 * Sends a process-request job inside the caller's transaction. `attempt` > 0 is a retry
 * scheduled by the request processor; each attempt has its own deterministic job id.
 */
export async function sendProcessRequest(
  boss: PgBoss,
  tx: Parameters<typeof fromDrizzle>[0],
  requestId: string,
  opts: { priority: number; model: string; attempt?: number; startAfter?: Date },
): Promise<void> {
  const payload: ProcessRequestPayload = { requestId };
  await boss.send(QUEUES.processRequest, payload, {
    id: processRequestJobId(requestId, opts.attempt ?? 0),
    priority: opts.priority,
    group: { id: opts.model, tier: opts.model },
    ...(opts.startAfter ? { startAfter: opts.startAfter } : {}),
    db: fromDrizzle(tx, sql),
  });
}

