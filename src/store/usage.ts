import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { NO_API_KEY } from '../db/schema/usage-rollups.ts';
import { addCountsText, HISTOGRAM_BUCKETS, histogramPercentile } from '../responses/histogram.ts';

/**
 * /admin/usage and /v1/me/usage (DESIGN 12), read from the rollups (migration 0007), never from
 * raw rows: the rollup rows of the asked granularity in the range, plus the contributions not
 * folded into them yet (usage_pending, seconds' worth), summed per bucket and group (counts
 * and tokens by PostgreSQL, histograms element-wise here), so a month by day costs one row
 * per day and group, whatever the traffic was.
 */

export const USAGE_DIMENSIONS = ['model', 'user', 'api_key', 'service_tier', 'endpoint'] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
export type UsageBucket = 'minute' | 'hour' | 'day';

export interface UsageQuery {
  from: Date;
  to: Date;
  bucket: UsageBucket;
  groupBy: readonly UsageDimension[];
  /** Only this user's requests (/v1/me/usage). */
  userId?: string;
}

export interface UsagePoint {
  start: string;
  group: Partial<Record<UsageDimension, string | null>>;
  requests: number;
  errors: Record<string, number>;
  cancelled: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null };
  ttft_ms: { p50: number | null; p95: number | null };
  queue_delay_ms: { p50: number | null; p95: number | null };
}

/** The rollup columns each dimension reads (the by-key family has user and key). */
const COLUMN: Record<UsageDimension, SQL> = {
  model: sql`r.model`,
  user: sql`u.name`,
  api_key: sql`NULLIF(r.api_key_id, ${NO_API_KEY}::uuid)::text`,
  service_tier: sql`r.service_tier`,
  endpoint: sql`r.endpoint`,
};

/** One data point's row: the rollup rows and pending contributions of a bucket and group, summed. */
interface PointRow {
  start_ms: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** "class=n,class=n" (a class may come more than once) or null. */
  errors: string | null;
  /** Histograms as text for addCountsText, ';'-separated, or null. */
  latency_hist: string | null;
  ttft_hist: string | null;
  queue_hist: string | null;
  [dimension: string]: unknown;
}

/** Data points per FETCH: each holds its rollup rows' histograms as text (a few KB). */
const CHUNK = 500;

export async function queryUsage(db: Db, q: UsageQuery): Promise<UsagePoint[]> {
  const byKey = q.userId !== undefined || q.groupBy.includes('user') || q.groupBy.includes('api_key');
  const users = byKey ? sql`LEFT JOIN users u ON u.id = r.user_id` : sql``;
  const dims = sql.join(q.groupBy.map((d) => sql`, ${COLUMN[d]} AS ${sql.identifier(`g_${d}`)}`), sql``);
  const groups = sql.join(q.groupBy.map((d) => sql`, ${sql.identifier(`g_${d}`)}`), sql``);
  const owner = q.userId !== undefined ? sql`AND r.user_id = ${q.userId}` : sql``;
  const from = sql`date_trunc(${q.bucket}, ${q.from.toISOString()}::timestamptz, 'UTC')`;
  const to = sql`${q.to.toISOString()}::timestamptz`;
  const start = sql`date_trunc(${q.bucket}, r.bucket_ts, 'UTC')`;
  // A pending contribution's histogram is one count (its sign) at its bucket: "k:±1".
  const one = (bucket: string) => sql.raw(`r.${bucket} || ':' || r.sign`);
  // The folded rows and the contributions not folded yet, summed per bucket and group by
  // PostgreSQL, which also joins each point's histograms into one text (adding them element-
  // wise there, by unnest, took 800 ms for a month by hour). One statement, so one snapshot:
  // a fold running meanwhile neither doubles nor drops a count. Read through a cursor, a
  // few hundred points at a time: JavaScript then allocates per data point, not per rollup
  // row (per row, forty month-by-hour answers took the web role from 130 to 300 MB resident).
  const points = sql`
    SELECT (extract(epoch FROM p.start) * 1000)::float8 AS start_ms ${groups},
           sum(p.requests)::float8 AS requests, sum(p.input_tokens)::float8 AS input_tokens,
           sum(p.output_tokens)::float8 AS output_tokens, sum(p.cached_tokens)::float8 AS cached_tokens,
           sum(p.reasoning_tokens)::float8 AS reasoning_tokens,
           string_agg(p.error_class || '=' || p.requests, ',') FILTER (WHERE p.error_class <> '') AS errors,
           string_agg(p.latency_hist, ';') AS latency_hist, string_agg(p.ttft_hist, ';') AS ttft_hist,
           string_agg(p.queue_hist, ';') AS queue_hist
    FROM (
      SELECT r.bucket_start AS start, r.error_class, r.requests, r.input_tokens, r.output_tokens, r.cached_tokens,
             r.reasoning_tokens, ${text(sql`r.latency_hist`)} AS latency_hist, ${text(sql`r.ttft_hist`)} AS ttft_hist,
             ${text(sql`r.queue_hist`)} AS queue_hist ${dims}
      FROM ${byKey ? sql`usage_rollups_by_key` : sql`usage_rollups`} r ${users}
      WHERE r.granularity = ${q.bucket} AND r.bucket_start >= ${from} AND r.bucket_start < ${to} ${owner}
      UNION ALL
      SELECT ${start}, r.error_class, r.sign, r.input_tokens, r.output_tokens, r.cached_tokens, r.reasoning_tokens,
             ${one('latency_bucket')}, ${one('ttft_bucket')}, ${one('queue_bucket')} ${dims}
      FROM usage_pending r ${users}
      WHERE ${start} >= ${from} AND ${start} < ${to} ${owner}
    ) AS p
    GROUP BY p.start ${groups}`;
  const out: UsagePoint[] = [];
  await db.transaction(
    async (tx) => {
      await tx.execute(sql`DECLARE volley_usage NO SCROLL CURSOR FOR ${points}`);
      for (;;) {
        const { rows } = await tx.execute<PointRow>(sql.raw(`FETCH ${CHUNK} FROM volley_usage`));
        for (const row of rows) {
          const point = pointOf(row, q.groupBy);
          if (point) out.push(point);
        }
        if (rows.length < CHUNK) break;
      }
    },
    { accessMode: 'read only' },
  );
  // Oldest first, then by group: the same data in the same order whichever rows held it.
  const keyed = out.map((p) => ({ key: `${p.start}\u0000${JSON.stringify(p.group)}`, p }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.p);
}

/** A histogram column as comma-separated counts, which addCountsText reads in place. */
const text = (hist: SQL): SQL => sql`array_to_string(${hist}, ',')`;

/** A data point of its summed row, percentiles read off its histograms; none when it counts nothing. */
function pointOf(row: PointRow, groupBy: readonly UsageDimension[]): UsagePoint | undefined {
  if (row.requests === 0) return undefined; // every count there moved elsewhere (a late record)
  const group: UsagePoint['group'] = {};
  for (const d of groupBy) group[d] = (row[`g_${d}`] as string | null | undefined) ?? null;
  let cancelled = 0;
  const errors: Record<string, number> = {};
  for (const pair of row.errors?.split(',') ?? []) {
    const at = pair.lastIndexOf('=');
    const kind = pair.slice(0, at);
    const n = Number(pair.slice(at + 1));
    if (kind === 'cancelled') cancelled += n;
    else errors[kind] = (errors[kind] ?? 0) + n;
  }
  for (const [k, v] of Object.entries(errors)) if (v === 0) delete errors[k];
  const latency = histogram(SCRATCH.latency, row.latency_hist);
  const ttft = histogram(SCRATCH.ttft, row.ttft_hist);
  const queue = histogram(SCRATCH.queue, row.queue_hist);
  return {
    start: new Date(row.start_ms).toISOString(),
    group,
    requests: row.requests,
    errors,
    cancelled,
    input_tokens: row.input_tokens,
    output_tokens: row.output_tokens,
    cached_tokens: row.cached_tokens,
    reasoning_tokens: row.reasoning_tokens,
    latency_ms: { p50: histogramPercentile(latency, 50), p95: histogramPercentile(latency, 95), p99: histogramPercentile(latency, 99) },
    ttft_ms: { p50: histogramPercentile(ttft, 50), p95: histogramPercentile(ttft, 95) },
    queue_delay_ms: { p50: histogramPercentile(queue, 50), p95: histogramPercentile(queue, 95) },
  };
}

/**
 * Each point's histograms are summed into these and read at once (pointOf is synchronous, so
 * concurrent answers cannot interleave): three fresh arrays per point, grown element by
 * element, were half of what a month by hour allocated, and the garbage grew the heap.
 */
const SCRATCH = {
  latency: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
  ttft: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
  queue: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
};

function histogram(counts: number[], text: string | null): number[] {
  counts.fill(0);
  if (text !== null) addCountsText(counts, text);
  return counts;
}
