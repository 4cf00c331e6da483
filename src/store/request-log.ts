import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../db/client.ts';
import type { RequestRow } from '../db/schema/index.ts';
import { toLoggedFields, toRequestRow, type LoggedFields } from './requests/rows.ts';

/**
 * The request log (DESIGN 12): filtered, newest first, paged by a (created_at, id) cursor that
 * keeps its microseconds, for /admin/requests, /v1/me/requests and the export (which walks
 * the same pages, so its memory does not grow with the result). The indexes of migration 0007
 * serve each filter: created_at, (created_by, created_at), (model, created_at), (api_key_id,
 * created_at), metadata (GIN, jsonb_path_ops), search_text (GIN, trigrams).
 */

export const REQUEST_STATUSES = ['completed', 'failed', 'cancelled', 'queued', 'in_progress'] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];

export interface RequestFilters {
  from?: Date;
  to?: Date;
  /** The volley user's name, as given to /admin/api-keys. */
  user?: string;
  /** The owner's id (/v1/me/requests): only their rows. */
  ownerId?: string;
  apiKeyId?: string;
  model?: string;
  endpoint?: string;
  serviceTier?: string;
  status?: RequestStatus;
  httpStatus?: number;
  minDurationMs?: number;
  metadata?: Record<string, string>;
  /** Text search over the request's and the answer's words (search_text). */
  q?: string;
}

/** A row of the log: the fields a list and the export show (DESIGN 12), with its owner's name. */
export type LoggedRequest = LoggedFields & { userName: string | null };

export interface LogPage {
  rows: LoggedRequest[];
  /** Where the next page starts; undefined on the last page. */
  next?: string;
}

/** Rows in a page at most. */
export const MAX_PAGE = 1_000;

/** The status a client sees, as SQL over the row (DESIGN 12's status filter). */
const STATUS_SQL: Record<RequestStatus, SQL> = {
  completed: sql`r.state = 'completed' AND COALESCE(r.response_status, 200) < 400`,
  failed: sql`(r.state = 'failed' OR (r.state = 'completed' AND r.response_status >= 400))`,
  cancelled: sql`r.state = 'canceled'`,
  queued: sql`r.state IN ('pending', 'claimed')`,
  in_progress: sql`r.state = 'processing'`,
};

// The columns of LoggedFields (requests/rows.ts), and no others.
const LIST_COLUMNS = sql.raw(`r.id, r.state, r.endpoint, r.model, r.service_tier, r.served_service_tier, r.background,
  r.store, r.created_by, r.api_key_id, r.response_status, r.error, r.prompt_tokens, r.completion_tokens, r.total_tokens,
  r.cached_tokens, r.reasoning_tokens, r.duration_ms, r.ttft_ms, r.queue_delay_ms, r.finish_reason, r.upstream_model,
  r.metadata, r.end_user, r.previous_request_id, r.created_at`);

/** `%`, `_` and `\` taken literally in a LIKE pattern. */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The filters' metadata pairs, or undefined when they hold none (`{}` filters nothing). */
function metadataOf(f: RequestFilters): Record<string, string> | undefined {
  return f.metadata !== undefined && Object.keys(f.metadata).length > 0 ? f.metadata : undefined;
}

/**
 * `metadataIndexed: false` writes the metadata filter so that no index can serve it: the page
 * is then read off a time-ordered index with the filter applied row by row. See listRequests.
 */
export function filterSql(f: RequestFilters, opts: { metadataIndexed?: boolean } = {}): SQL {
  const where: SQL[] = [sql`TRUE`];
  if (f.from) where.push(sql`r.created_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) where.push(sql`r.created_at < ${f.to.toISOString()}::timestamptz`);
  if (f.ownerId !== undefined) where.push(sql`r.created_by = ${f.ownerId}::uuid`);
  if (f.user !== undefined) where.push(sql`r.created_by = (SELECT id FROM users WHERE name = ${f.user})`);
  if (f.apiKeyId !== undefined) where.push(sql`r.api_key_id = ${f.apiKeyId}::uuid`);
  if (f.model !== undefined) where.push(sql`r.model = ${f.model}`);
  if (f.endpoint !== undefined) where.push(sql`r.endpoint = ${f.endpoint}`);
  if (f.serviceTier !== undefined) where.push(sql`r.service_tier = ${f.serviceTier}`);
  if (f.status !== undefined) where.push(STATUS_SQL[f.status]);
  if (f.httpStatus !== undefined) where.push(sql`r.response_status = ${f.httpStatus}`);
  if (f.minDurationMs !== undefined) where.push(sql`r.duration_ms >= ${f.minDurationMs}`);
  const metadata = metadataOf(f);
  if (metadata !== undefined) {
    const wanted = sql`${JSON.stringify(metadata)}::jsonb`;
    where.push(opts.metadataIndexed === false ? sql`coalesce(r.metadata, '{}') @> ${wanted}` : sql`r.metadata @> ${wanted} AND r.metadata IS NOT NULL`);
  }
  if (f.q !== undefined && f.q !== '') {
    where.push(sql`r.search_text ILIKE ${`%${likeLiteral(f.q)}%`} AND r.search_text IS NOT NULL`);
  }
  return sql.join(where, sql` AND `);
}

/**
 * The statement of one page: newest first, after the cursor. The order is spelled as the
 * indexes are (drizzle's desc() is DESC NULLS LAST, and a plain DESC means NULLS FIRST), so a
 * page is read off an index in order instead of sorting every matching row: at 1,000,000 rows
 * an unfiltered page took 86 ms that way, 0.06 ms read off the index. Both columns are NOT NULL.
 */
export function requestPageSql(
  filters: RequestFilters,
  opts: { limit: number; cursor?: string; metadataIndexed?: boolean; metadataPrefix?: number },
): SQL {
  const limit = Math.min(Math.max(1, opts.limit), MAX_PAGE);
  const after = opts.cursor === undefined ? undefined : decodeCursor(opts.cursor);
  const afterSql = after ? sql`AND (r.created_at, r.id) < (${after.at}::timestamptz, ${after.id}::uuid)` : sql``;
  const order = sql`ORDER BY r.created_at DESC NULLS LAST, r.id DESC NULLS LAST`;
  const columns = sql`SELECT ${LIST_COLUMNS}, r.created_at::text AS cursor_at, u.name AS user_name`;
  const metadata = metadataOf(filters);
  if (opts.metadataPrefix !== undefined && metadata !== undefined) {
    // The metadata filter over the first `metadataPrefix` rows of the other filters only.
    const { metadata: _m, ...others } = filters;
    return sql`
      ${columns}
      FROM (SELECT * FROM requests r WHERE ${filterSql(others)} ${afterSql} ${order} LIMIT ${opts.metadataPrefix}) AS r
      LEFT JOIN users u ON u.id = r.created_by
      WHERE coalesce(r.metadata, '{}') @> ${JSON.stringify(metadata)}::jsonb
      ${order}
      LIMIT ${limit + 1}`;
  }
  return sql`
    ${columns}
    FROM requests r LEFT JOIN users u ON u.id = r.created_by
    WHERE ${filterSql(filters, opts.metadataIndexed === undefined ? {} : { metadataIndexed: opts.metadataIndexed })} ${afterSql}
    ${order}
    LIMIT ${limit + 1}`;
}

/**
 * Matches of a metadata filter beyond which its page is read in time order rather than from
 * the metadata index. PostgreSQL has no statistics for jsonb containment and guesses 0.1 % of
 * the table, so for a common pair (1 row in 70, at 1,000,000 rows) it fetched all 14,000
 * matches from the GIN index and sorted them (180 ms) where reading the time index until 50
 * matched takes a few ms. A rare pair is the other way round; one bounded probe tells which.
 */
const COMMON_METADATA = 2_000;

/**
 * Whether a page with these filters may read its metadata matches from the metadata index
 * (the pair is rare), or undefined when there is no metadata filter. One bounded probe; a
 * caller reading many pages with the same filters (the export) asks once.
 */
export async function metadataIndexFits(db: Executor, filters: RequestFilters): Promise<boolean | undefined> {
  const metadata = metadataOf(filters);
  if (metadata === undefined) return undefined;
  const probe = await db.execute<{ n: number }>(sql`
    SELECT count(*)::int AS n FROM (
      SELECT 1 FROM requests r WHERE r.metadata @> ${JSON.stringify(metadata)}::jsonb AND r.metadata IS NOT NULL
      LIMIT ${COMMON_METADATA}) AS m`);
  return (probe.rows[0]?.n ?? 0) < COMMON_METADATA;
}

/**
 * Rows of the other filters a metadata filter's page first looks among (see listRequests):
 * a pair on 1 row in 200 of them or more fills a page there.
 */
const METADATA_PREFIX = 10_000;

/**
 * A page of the log, newest first, after `cursor` (an opaque string from an earlier page).
 * `metadataIndexed`: metadataIndexFits's answer for these filters, when the caller has it.
 *
 * Without it, a metadata filter's page is first looked for among the first METADATA_PREFIX
 * rows of the other filters, in time order: when a full page (and one more row) matches
 * there, those are the first matches of all, and the answer needs no probe (which, for a
 * common pair, cost more than the page: at 5,000,000 rows 26-35 ms to count 2,000 of a
 * pair's 71,000 rows, against 6 ms for the page). Otherwise the pair is rare among these
 * rows, and the probe decides as before; the prefix read cost a few ms.
 */
export async function listRequests(
  db: Executor,
  filters: RequestFilters,
  opts: { limit: number; cursor?: string; metadataIndexed?: boolean | undefined },
): Promise<LogPage> {
  const limit = Math.min(Math.max(1, opts.limit), MAX_PAGE);
  const cursor = opts.cursor !== undefined ? { cursor: opts.cursor } : {};
  let raw: Record<string, unknown>[] | undefined;
  if (opts.metadataIndexed === undefined && metadataOf(filters) !== undefined) {
    const prefix = await db.execute<Record<string, unknown>>(requestPageSql(filters, { limit, ...cursor, metadataPrefix: METADATA_PREFIX }));
    if (prefix.rows.length > limit) raw = prefix.rows;
  }
  if (raw === undefined) {
    const metadataIndexed = opts.metadataIndexed ?? (await metadataIndexFits(db, filters));
    const result = await db.execute<Record<string, unknown>>(
      requestPageSql(filters, { limit, ...cursor, ...(metadataIndexed === undefined ? {} : { metadataIndexed }) }),
    );
    raw = result.rows;
  }
  const more = raw.length > limit;
  const page = more ? raw.slice(0, limit) : raw;
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => ({ ...toLoggedFields(r), userName: (r.user_name as string | null) ?? null })),
    ...(more && last ? { next: encodeCursor(String(last.cursor_at), String(last.id)) } : {}),
  };
}

/** One request with its bodies, its owner's name. */
export async function findLoggedRequest(db: Executor, id: string, ownerId?: string): Promise<(RequestRow & { userName: string | null }) | undefined> {
  const result = await db.execute<Record<string, unknown>>(sql`
    SELECT r.*, u.name AS user_name FROM requests r LEFT JOIN users u ON u.id = r.created_by
    WHERE r.id = ${id}::uuid ${ownerId !== undefined ? sql`AND r.created_by = ${ownerId}::uuid` : sql``}`);
  const row = result.rows[0];
  return row ? { ...toRequestRow(row), userName: (row.user_name as string | null) ?? null } : undefined;
}

export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** Undefined for anything that is not a cursor this module made. */
export function decodeCursor(cursor: string): { at: string; id: string } | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof at !== 'string' || typeof id !== 'string') return undefined;
    if (!/^\d{4}-\d\d-\d\d[ T][\d:.]+([+-]\d\d(:?\d\d)?|Z)?$/.test(at)) return undefined;
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return undefined;
    return { at, id };
  } catch {
    return undefined;
  }
}
