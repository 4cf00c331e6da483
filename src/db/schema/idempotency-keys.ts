import { index, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * `Idempotency-Key` (DESIGN 13): per API key, 24 hours, a key names one request. A retry with
 * the same key and body gets that request's answer (waiting while it runs); a different
 * body is a 409. Works across gateway processes, since the claim is this row.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    apiKeyId: uuid().notNull(),
    /** The header's value, as the client sent it (at most 255 characters). */
    key: text().notNull(),
    /** SHA-256 of the request body (hex): the same key with another body is refused. */
    bodyHash: text().notNull(),
    endpoint: text().notNull(),
    /** The request the key names (the response id without `resp_`). */
    requestId: uuid().notNull(),
    /**
     * Until when the gateway that holds the request is known to be alive (it renews the lease
     * while it serves it). A retry finding it lapsed on an unfinished request takes the
     * request over, under the same id.
     */
    leaseUntil: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** 24 hours after the first use: then the key is free again. */
    expiresAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.apiKeyId, t.key] }), index('idempotency_keys_expires_at_idx').on(t.expiresAt)],
);
