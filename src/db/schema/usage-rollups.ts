import { bigint, integer, pgTable, primaryKey, smallint, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * Usage rollups (DESIGN 12): per time bucket and group, counts, token sums and latency
 * histograms. Statement-level triggers on `requests` (migration 0007) append each terminal
 * record's contribution to `usage_pending` in the statement that makes it terminal (a
 * terminal row that changes, a late record over TrackingLost, appends the undoing of its old
 * contribution too); the worker folds pending contributions into the rollups every second or
 * so, deleting what it folded in the same transaction (store/usage-fold.ts). So each record
 * counts exactly once, and the records' own writes never wait on a shared rollup row.
 * /admin/usage reads the rollups plus what is still pending, never the raw rows, so a month
 * costs a few hundred rows. Retention deletes old requests and the minute rows of their time
 * (store/usage-fold.ts), never hour or day rows.
 *
 * Two families: `usage_rollups` by model, tier, endpoint and error class (what most views
 * group by), and `usage_rollups_by_key` with the user and key as well (any group_by that
 * names them, and /v1/me/usage). Each has minute, hour and day rows.
 *
 * Histograms are int arrays over fixed log-scale buckets (responses/histogram.ts): bucket 0 is
 * [0, 0.125 ms), bucket k covers [0.125·2^((k-1)/4), 0.125·2^(k/4)) ms, so each is about 19 %
 * wide, and bucket 103 takes everything from about 50 min up. Arrays add element-wise, so any
 * range's percentiles come from the sum of its rows.
 */
const rollupColumns = {
  granularity: text().$type<'minute' | 'hour' | 'day'>().notNull(),
  bucketStart: timestamp({ withTimezone: true }).notNull(),
  model: text().notNull(),
  serviceTier: text().notNull(),
  endpoint: text().notNull(),
  /** '' for a success; else the class /admin/usage counts under `errors`. */
  errorClass: text().notNull(),
  requests: bigint({ mode: 'number' }).notNull(),
  inputTokens: bigint({ mode: 'number' }).notNull(),
  outputTokens: bigint({ mode: 'number' }).notNull(),
  cachedTokens: bigint({ mode: 'number' }).notNull(),
  reasoningTokens: bigint({ mode: 'number' }).notNull(),
  latencyHist: integer().array().notNull(),
  ttftHist: integer().array().notNull(),
  queueHist: integer().array().notNull(),
};

export const usageRollups = pgTable('usage_rollups', rollupColumns, (t) => [
  primaryKey({ name: 'usage_rollups_pk', columns: [t.granularity, t.bucketStart, t.model, t.serviceTier, t.endpoint, t.errorClass] }),
]);

/** No key: the all-zero uuid (a primary key column cannot be null). */
export const NO_API_KEY = '00000000-0000-0000-0000-000000000000';

export const usageRollupsByKey = pgTable(
  'usage_rollups_by_key',
  {
    ...rollupColumns,
    userId: uuid().notNull(),
    apiKeyId: uuid().notNull(),
  },
  (t) => [
    primaryKey({
      name: 'usage_rollups_by_key_pk',
      columns: [t.granularity, t.bucketStart, t.model, t.userId, t.apiKeyId, t.serviceTier, t.endpoint, t.errorClass],
    }),
  ],
);

/**
 * Contributions not folded into the rollups yet: one row per terminal record (and per undone
 * count), appended by the triggers, no index (the fold takes them all, oldest first).
 */
export const usagePending = pgTable('usage_pending', {
  bucketTs: timestamp({ withTimezone: true }).notNull(),
  model: text().notNull(),
  userId: uuid().notNull(),
  apiKeyId: uuid().notNull(),
  serviceTier: text().notNull(),
  endpoint: text().notNull(),
  errorClass: text().notNull(),
  /** +1 counted, -1 a count moved away. */
  sign: smallint().notNull(),
  inputTokens: bigint({ mode: 'number' }).notNull(),
  outputTokens: bigint({ mode: 'number' }).notNull(),
  cachedTokens: bigint({ mode: 'number' }).notNull(),
  reasoningTokens: bigint({ mode: 'number' }).notNull(),
  latencyBucket: smallint(),
  ttftBucket: smallint(),
  queueBucket: smallint(),
});
