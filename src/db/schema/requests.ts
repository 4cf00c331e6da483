import { sql } from 'drizzle-orm';
import { bigint, boolean, check, doublePrecision, index, integer, jsonb, pgTable, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { batches } from './batches.ts';

/** Every request state; terminal ones never change once written. */
export const REQUEST_STATES = Object.freeze({
  pending: 'pending',
  claimed: 'claimed',
  processing: 'processing',
  completed: 'completed',
  failed: 'failed',
  canceled: 'canceled',
} as const);

export type RequestState = (typeof REQUEST_STATES)[keyof typeof REQUEST_STATES];
export const TERMINAL_STATES = ['completed', 'failed', 'canceled'] as const;
export type TerminalState = (typeof TERMINAL_STATES)[number];
export const SERVICE_TIERS = ['auto', 'default', 'flex', 'priority'] as const;
export type ServiceTier = (typeof SERVICE_TIERS)[number];

export function isTerminal(state: string): state is TerminalState {
  return (TERMINAL_STATES as readonly string[]).includes(state);
}

export const requests = pgTable(
  'requests',
  {
    /** The response id without its `resp_` prefix. */
    id: uuid().primaryKey(),
    batchId: uuid()
      .notNull()
      .references(() => batches.id),
    state: text().$type<RequestState>().notNull(),
    endpoint: text().notNull(),
    model: text().notNull(),
    serviceTier: text().$type<ServiceTier>().notNull().default('default'),
    background: boolean().notNull().default(false),
    /** The request body exactly as the client sent it. */
    body: text().notNull(),
    createdBy: uuid().notNull(),
    apiKeyId: uuid(),
    /** Upstream HTTP status; >= 400 is kept on failed rows for diagnosis. */
    responseStatus: smallint(),
    responseBody: text(),
    /** FailureReason JSON (DESIGN 8.2) on failed rows. */
    error: text(),
    retryAttempt: integer().notNull().default(0),
    /** The request processor does not start an attempt before this time (backoff). */
    notBefore: timestamp({ withTimezone: true }),
    claimedAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    completedAt: timestamp({ withTimezone: true }),
    failedAt: timestamp({ withTimezone: true }),
    canceledAt: timestamp({ withTimezone: true }),
    /** Soft delete: the row stays for analytics but is hidden from its owner. */
    deletedAt: timestamp({ withTimezone: true }),
    expiresAt: timestamp({ withTimezone: true }),
    promptTokens: integer(),
    completionTokens: integer(),
    totalTokens: integer(),
    /** Size of the stored response body in bytes. */
    responseSize: bigint({ mode: 'number' }),
    /**
     * The request this one continues (`previous_response_id`, checked to be the same owner's
     * and finished when it was accepted): the chain is walked by primary key from here.
     */
    previousRequestId: uuid(),
    /**
     * `store: false` on /v1/responses (DESIGN 11): the bodies are not kept after the answer
     * (the row keeps metadata and usage), GET answers 404 and it cannot be continued.
     */
    store: boolean().notNull().default(true),
    // What DESIGN 12 records for analytics. Measured by whoever called the upstream (the
    // gateway, the request processor) and written with the terminal record, never on their own.
    /** When the gateway received the request (rollups bucket by it). */
    receivedAt: timestamp({ withTimezone: true }),
    /** The (last) upstream call's start and its first byte of answer. */
    upstreamStartedAt: timestamp({ withTimezone: true }),
    firstByteAt: timestamp({ withTimezone: true }),
    /** When the answer ended (the last byte to the client, or the processor's last attempt). */
    finishedAt: timestamp({ withTimezone: true }),
    /** finished − received, in ms (sub-millisecond precision). */
    durationMs: doublePrecision(),
    /** Streams only: received → first byte of answer. */
    ttftMs: doublePrecision(),
    /** Background and flex only: received → the upstream call that answered. */
    queueDelayMs: doublePrecision(),
    cachedTokens: integer(),
    reasoningTokens: integer(),
    finishReason: text(),
    /** The tier the upstream says served it (the requested one is service_tier). */
    servedServiceTier: text(),
    /** The model the upstream says answered (may differ from the requested alias). */
    upstreamModel: text(),
    /** The request's `metadata` and the x-volley-metadata header's (string → string). */
    metadata: jsonb().$type<Record<string, string>>(),
    /** The request's `user` (or `safety_identifier`): the caller's own end user. */
    endUser: text(),
    /**
     * The text of the request and the answer (message contents, tool arguments), cut at 8,000
     * characters, for `q` search under a trigram index. Written with the terminal record (by
     * the worker, off the hot path); null with store: false.
     */
    searchText: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // The request log's order is (created_at, id) descending; the per-owner, per-model and
    // per-key indexes end in both, so a filtered page reads its 50 rows straight off the index
    // instead of sorting every row of the owner (a seq scan and sort of 100,000 rows at 1M).
    index('requests_created_by_created_at_idx').on(t.createdBy, t.createdAt.desc(), t.id.desc()),
    // Retention deletes batches, and for each one the foreign key looks up the requests still
    // pointing at it: without this index, a scan of the whole table per batch (migration 0008).
    index('requests_batch_id_idx').on(t.batchId),
    index('requests_model_created_at_idx').on(t.model, t.createdAt.desc(), t.id.desc()),
    // The request log (DESIGN 12): newest first with a (created_at, id) cursor, by key, by
    // metadata, by text. The last two are partial: rows without any cost nothing.
    index('requests_created_at_id_idx').on(t.createdAt.desc(), t.id.desc()),
    index('requests_api_key_created_at_idx').on(t.apiKeyId, t.createdAt.desc(), t.id.desc()),
    index('requests_metadata_idx').using('gin', sql`${t.metadata} jsonb_path_ops`).where(sql`${t.metadata} IS NOT NULL`),
    index('requests_search_text_idx').using('gin', sql`${t.searchText} gin_trgm_ops`).where(sql`${t.searchText} IS NOT NULL`),
    // The sweeper scans only the few non-terminal rows.
    index('requests_live_state_started_idx')
      .on(t.state, t.startedAt)
      .where(sql`${t.state} NOT IN ('completed', 'failed', 'canceled')`),
    check('requests_state_valid', sql`${t.state} IN ('pending', 'claimed', 'processing', 'completed', 'failed', 'canceled')`),
    check('requests_service_tier_valid', sql`${t.serviceTier} IN ('auto', 'default', 'flex', 'priority')`),
    check(
      'requests_completed_fields',
      sql`${t.state} <> 'completed' OR (${t.completedAt} IS NOT NULL AND ${t.responseStatus} IS NOT NULL AND ${t.responseBody} IS NOT NULL)`,
    ),
    check('requests_failed_fields', sql`${t.state} <> 'failed' OR (${t.failedAt} IS NOT NULL AND ${t.error} IS NOT NULL)`),
    check('requests_canceled_fields', sql`${t.state} <> 'canceled' OR ${t.canceledAt} IS NOT NULL`),
  ],
);

export type RequestRow = typeof requests.$inferSelect;
