// The query strings of the request log and usage endpoints (DESIGN 12), validated with zod: a
// bad value is a 400 naming the parameter. Shared by /admin/requests, its export,
// /admin/usage and the /v1/me/ views.
import { z } from 'zod';
import { SERVICE_TIERS } from '../db/schema/requests.ts';
import { METADATA_LIMITS } from '../responses/record-facts.ts';
import { parseResponseId } from '../responses/response-id.ts';
import { decodeCursor, REQUEST_STATUSES, type RequestFilters } from '../store/request-log.ts';
import { USAGE_DIMENSIONS, type UsageDimension, type UsageQuery } from '../store/usage.ts';
import { parseInput } from './validate.ts';
import { Validation } from '../errors.ts';

const when = z.iso.datetime({ offset: true }).or(z.iso.date()).transform((v) => new Date(v));
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const filterFields = {
  from: when.optional(),
  to: when.optional(),
  user: z.string().min(1).max(200).optional(),
  api_key_id: z.uuid().optional(),
  model: z.string().min(1).max(200).optional(),
  endpoint: z.string().regex(/^\/v1\/[a-z/_-]+$/, 'an API path such as /v1/responses').optional(),
  service_tier: z.enum(SERVICE_TIERS).optional(),
  status: z.enum(REQUEST_STATUSES).optional(),
  http_status: int(100, 599).optional(),
  min_duration_ms: z.coerce.number().min(0).max(1e9).optional(),
  q: z.string().max(500).optional(),
};

const listQuery = z.looseObject({
  ...filterFields,
  cursor: z.string().max(500).refine((c) => decodeCursor(c) !== undefined, 'not a cursor from an earlier page').optional(),
  limit: int(1, 200).default(50),
});

const exportQuery = z.looseObject({ ...filterFields, format: z.enum(['csv', 'jsonl']).default('jsonl') });

/** `metadata.<key>=<value>` parameters as one map (at most 16, within the metadata limits). */
function metadataFilter(query: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    if (!k.startsWith('metadata.')) continue;
    const key = k.slice('metadata.'.length);
    const value = Array.isArray(v) ? v[0] : v;
    if (key === '' || key.length > METADATA_LIMITS.keyLength || typeof value !== 'string' || value.length > METADATA_LIMITS.valueLength) {
      throw new Validation(`Invalid request: ${k}: a metadata filter is metadata.<key>=<value> within the metadata limits`, [{ path: k, message: 'invalid' }]);
    }
    out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function filtersOf(q: z.infer<typeof listQuery> | z.infer<typeof exportQuery>, raw: Record<string, unknown>): RequestFilters {
  const metadata = metadataFilter(raw);
  return {
    ...(q.from ? { from: q.from } : {}),
    ...(q.to ? { to: q.to } : {}),
    ...(q.user !== undefined ? { user: q.user } : {}),
    ...(q.api_key_id !== undefined ? { apiKeyId: q.api_key_id } : {}),
    ...(q.model !== undefined ? { model: q.model } : {}),
    ...(q.endpoint !== undefined ? { endpoint: q.endpoint } : {}),
    ...(q.service_tier !== undefined ? { serviceTier: q.service_tier } : {}),
    ...(q.status !== undefined ? { status: q.status } : {}),
    ...(q.http_status !== undefined ? { httpStatus: q.http_status } : {}),
    ...(q.min_duration_ms !== undefined ? { minDurationMs: q.min_duration_ms } : {}),
    ...(metadata ? { metadata } : {}),
    ...(q.q !== undefined && q.q !== '' ? { q: q.q } : {}),
  };
}

export function parseListQuery(raw: unknown): { filters: RequestFilters; limit: number; cursor?: string } {
  const query = (raw ?? {}) as Record<string, unknown>;
  const q = parseInput(listQuery, query, 'query');
  return { filters: filtersOf(q, query), limit: q.limit, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) };
}

export function parseExportQuery(raw: unknown): { filters: RequestFilters; format: 'csv' | 'jsonl' } {
  const query = (raw ?? {}) as Record<string, unknown>;
  const q = parseInput(exportQuery, query, 'query');
  return { filters: filtersOf(q, query), format: q.format };
}

/** Buckets one answer may hold: a minute bucket covers about a week, an hour one over a year. */
export const MAX_USAGE_BUCKETS = 10_000;
const BUCKET_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
const DAY_MS = 86_400_000;

const usageQuery = z.looseObject({
  from: when.optional(),
  to: when.optional(),
  bucket: z.enum(['minute', 'hour', 'day']).default('hour'),
  group_by: z
    .string()
    .max(200)
    .transform((v) => v.split(',').map((s) => s.trim()).filter((s) => s !== ''))
    .pipe(z.array(z.enum(USAGE_DIMENSIONS)))
    .optional(),
});

/** /admin/usage's query; the range defaults to the last 24 hours. */
export function parseUsageQuery(raw: unknown, now = new Date()): Omit<UsageQuery, 'userId'> {
  const q = parseInput(usageQuery, raw ?? {}, 'query');
  const to = q.to ?? now;
  const from = q.from ?? new Date(to.getTime() - DAY_MS);
  if (from.getTime() >= to.getTime()) throw new Validation("Invalid request: from: must be before 'to'", [{ path: 'from', message: 'after to' }]);
  if ((to.getTime() - from.getTime()) / BUCKET_MS[q.bucket] > MAX_USAGE_BUCKETS) {
    throw new Validation(
      `Invalid request: bucket: more than ${MAX_USAGE_BUCKETS} ${q.bucket} buckets between from and to; use a larger bucket`,
      [{ path: 'bucket', message: 'too many buckets' }],
    );
  }
  const groupBy = [...new Set(q.group_by ?? [])] as UsageDimension[];
  return { from, to, bucket: q.bucket, groupBy };
}

/** A `resp_…` id as the row id, or undefined when it is not one. */
export function requestIdOf(id: string): string | undefined {
  try {
    return parseResponseId(id);
  } catch {
    return undefined;
  }
}
