import { integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Every tracked request belongs to a batch; realtime, background and flex requests each
 * create a batch of one. Files for a JSONL Batch API come later.
 */
export const batches = pgTable('batches', {
  id: uuid().primaryKey(),
  /** Owner user id (not a foreign key: a recorded call outlives a deleted user). */
  createdBy: uuid().notNull(),
  /** API path the batch's requests were sent to, e.g. /v1/responses. */
  endpoint: text().notNull(),
  /** Batch-API style window: 0s (realtime), 10m (background), 1h (flex), 24h. */
  completionWindow: text().notNull(),
  expiresAt: timestamp({ withTimezone: true }),
  totalRequests: integer().notNull().default(1),
  cancellingAt: timestamp({ withTimezone: true }),
  cancelledAt: timestamp({ withTimezone: true }),
  completedAt: timestamp({ withTimezone: true }),
  failedAt: timestamp({ withTimezone: true }),
  metadata: jsonb(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
