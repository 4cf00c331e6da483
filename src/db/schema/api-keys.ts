import { sql } from 'drizzle-orm';
import { boolean, index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { users } from './users.ts';

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid().primaryKey().defaultRandom(),
    userId: uuid()
      .notNull()
      .references(() => users.id),
    name: text().notNull().default('default'),
    /** Hex SHA-256 of the key. The key itself is shown once at creation and never stored. */
    secretHash: text().notNull().unique(),
    /** The first characters of the key, enough to recognise it in a list or a log. */
    prefix: text().notNull(),
    /** Models this key may call; null means every model. */
    allowedModels: text().array(),
    isDeleted: boolean().notNull().default(false),
    /** When DELETE /admin/api-keys/{id} revoked it (is_deleted says so too, for the lookups). */
    revokedAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp({ withTimezone: true }),
  },
  (t) => [index('api_keys_user_idx').on(t.userId).where(sql`NOT ${t.isDeleted}`)],
);
