import { pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/** Owners of API keys and of every tracked request. */
export const users = pgTable('users', {
  id: uuid().primaryKey().defaultRandom(),
  name: text().notNull().unique(),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
