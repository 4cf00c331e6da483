import { sql } from 'drizzle-orm';
import { check, integer, pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/** The upstream APIs a model can be served by (DESIGN 10). */
export const MODEL_APIS = ['responses', 'chat'] as const;
export type ModelApi = (typeof MODEL_APIS)[number];

/**
 * Where each model is served and how (DESIGN 10), managed by /admin/models. A model not in
 * the table goes to UPSTREAM_URL with the Responses API.
 */
export const models = pgTable(
  'models',
  {
    name: text().primaryKey(),
    /** OpenAI-style base URL including the version prefix, e.g. http://vllm:8000/v1. */
    upstreamUrl: text().notNull(),
    /** `chat`: the upstream speaks only Chat Completions; /v1/responses is served by translation. */
    api: text().notNull().$type<ModelApi>().default('responses'),
    /**
     * The name of an environment variable holding the upstream's API key (the key itself is
     * never stored); unset: UPSTREAM_API_KEY.
     */
    upstreamApiKeyEnv: text(),
    /** Upstream calls of this model in flight at once across every flex process; unset: MODEL_CONCURRENCY. */
    concurrency: integer(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check('models_api_valid', sql`${t.api} IN ('responses', 'chat')`),
    check('models_concurrency_positive', sql`${t.concurrency} IS NULL OR ${t.concurrency} > 0`),
  ],
);

export type ModelRow = typeof models.$inferSelect;
