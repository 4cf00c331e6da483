import { sql } from 'drizzle-orm';
import type { Executor } from '../../db/client.ts';
import { PreparedStatement } from '../../db/prepared.ts';
import type { ServiceTier } from '../../db/schema/index.ts';
import { storableRecord } from '../../responses/storable.ts';
import { uniqueSorted } from './rows.ts';

/** Creating request rows: a batch of one and its request, in any initial state. */

export interface NewRequest {
  requestId: string;
  batchId: string;
  endpoint: string;
  model: string;
  serviceTier: ServiceTier;
  background: boolean;
  body: string;
  createdBy: string;
  apiKeyId: string | null;
  state: 'pending' | 'processing';
  /** '0s' for realtime, '10m' background, '1h' flex, … */
  completionWindow: string;
  expiresAt: Date | null;
  /** The request this one continues (`previous_response_id`), checked when it was accepted. */
  previousRequestId?: string | null;
  /** false: `store: false` (the bodies are not kept after the answer). */
  store?: boolean;
  /** When the gateway received it (default: the insert's time). */
  receivedAt?: Date | null;
  /** DESIGN 12's request facts, known at creation for background and flex requests. */
  metadata?: Record<string, string> | null;
  endUser?: string | null;
}


/**
 * Inserts batch-of-1 rows and their requests in one statement. `ON CONFLICT DO NOTHING` on
 * both tables: re-running is a no-op and never downgrades a row that exists in any state
 * (complete-response may have made it terminal first). Returns the ids it inserted.
 */
export async function createSingleRequestBatches(db: Executor, items: readonly NewRequest[]): Promise<Set<string>> {
  // Sanitised here, the last place before the statement: one NUL byte must not fail the batch.
  const rows = uniqueSorted(items).map(storableRecord);
  if (rows.length === 0) return new Set();
  if (rows.length === 1) {
    // The common case off-peak (sequential requests): plain VALUES plan and execute in
    // about 60% of the time unnest takes for one row.
    const inserted = await insertOne(db, rows[0]!);
    return new Set(inserted.map((row) => row.id));
  }
  const col = <K extends keyof NewRequest>(k: K) => rows.map((r) => r[k]);
  const inserted = await CREATE_SINGLE_REQUEST_BATCHES.run<{ id: string }>(db, {
    id: col('requestId'),
    batchId: col('batchId'),
    state: col('state'),
    endpoint: col('endpoint'),
    model: col('model'),
    serviceTier: col('serviceTier'),
    background: col('background'),
    body: col('body'),
    createdBy: col('createdBy'),
    apiKeyId: col('apiKeyId'),
    completionWindow: col('completionWindow'),
    expiresAt: rows.map((r) => r.expiresAt?.toISOString() ?? null),
    previousRequestId: rows.map((r) => r.previousRequestId ?? null),
    store: rows.map((r) => r.store ?? true),
    receivedAt: rows.map((r) => r.receivedAt?.toISOString() ?? null),
    metadata: rows.map((r) => (r.metadata ? JSON.stringify(r.metadata) : null)),
    endUser: rows.map((r) => r.endUser ?? null),
  });
  return new Set(inserted.map((r) => r.id));
}

const p = (name: string) => sql.placeholder(name);

/** CREATE_SINGLE_REQUEST_BATCHES for one row, with the same locking order. */
const CREATE_ONE_REQUEST_BATCH = new PreparedStatement<Record<string, unknown>>(
  'volley_create_one_request_batch',
  sql`
    WITH new_batch AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window, expires_at)
      VALUES (${p('batchId')}::uuid, ${p('createdBy')}::uuid, ${p('endpoint')}, ${p('completionWindow')},
              ${p('expiresAt')}::timestamptz)
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
                          started_at, expires_at, previous_request_id, store, received_at, metadata, end_user)
    SELECT ${p('requestId')}::uuid, ${p('batchId')}::uuid, ${p('state')}::text, ${p('endpoint')}, ${p('model')},
           ${p('serviceTier')}, ${p('background')}::boolean, ${p('body')}, ${p('createdBy')}::uuid, ${p('apiKeyId')}::uuid,
           CASE WHEN ${p('state')}::text = 'processing' THEN now() END, ${p('expiresAt')}::timestamptz,
           ${p('previousRequestId')}::uuid, ${p('store')}::boolean, COALESCE(${p('receivedAt')}::timestamptz, now()),
           ${p('metadata')}::jsonb, ${p('endUser')}::text
    WHERE (SELECT count(*) FROM new_batch) >= 0
    ON CONFLICT (id) DO NOTHING
    RETURNING id, created_at`,
);

const CREATE_SINGLE_REQUEST_BATCHES = new PreparedStatement<Record<string, unknown[]>>(
  'volley_create_single_request_batches',
  sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${p('id')}::uuid[], ${p('batchId')}::uuid[], ${p('state')}::text[], ${p('endpoint')}::text[],
        ${p('model')}::text[], ${p('serviceTier')}::text[], ${p('background')}::boolean[], ${p('body')}::text[],
        ${p('createdBy')}::uuid[], ${p('apiKeyId')}::uuid[], ${p('completionWindow')}::text[], ${p('expiresAt')}::timestamptz[],
        ${p('previousRequestId')}::uuid[], ${p('store')}::boolean[], ${p('receivedAt')}::timestamptz[], ${p('metadata')}::jsonb[],
        ${p('endUser')}::text[]
      ) AS t(id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id, completion_window, expires_at,
             previous_request_id, store, received_at, metadata, end_user)
    ),
    -- Batches first (the InitPlan below runs this to completion before any request row):
    -- every writer takes batch locks before request locks, in id order.
    new_batches AS (
      INSERT INTO batches (id, created_by, endpoint, completion_window, expires_at)
      SELECT batch_id, created_by, endpoint, completion_window, expires_at FROM input
      ON CONFLICT (id) DO NOTHING
      RETURNING 1
    )
    INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
                          started_at, expires_at, previous_request_id, store, received_at, metadata, end_user)
    SELECT id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
           CASE WHEN state = 'processing' THEN now() END, expires_at, previous_request_id, store,
           COALESCE(received_at, now()), metadata, end_user
    FROM input WHERE (SELECT count(*) FROM new_batches) >= 0
    ON CONFLICT (id) DO NOTHING
    RETURNING id`,
);

/**
 * One batch-of-1 row. Returns the `created_at` PostgreSQL gave it, or null when the row
 * already existed: an answer built from this value says what GET of the row will say.
 */
export async function createSingleRequestBatch(db: Executor, item: NewRequest): Promise<Date | null> {
  const [row] = await insertOne(db, storableRecord(item));
  return row ? new Date(row.created_at) : null;
}

function insertOne(db: Executor, r: NewRequest): Promise<{ id: string; created_at: string | Date }[]> {
  return CREATE_ONE_REQUEST_BATCH.run<{ id: string; created_at: string | Date }>(db, {
    ...r,
    expiresAt: r.expiresAt?.toISOString() ?? null,
    previousRequestId: r.previousRequestId ?? null,
    store: r.store ?? true,
    receivedAt: r.receivedAt?.toISOString() ?? null,
    metadata: r.metadata ? JSON.stringify(r.metadata) : null,
    endUser: r.endUser ?? null,
  });
}

