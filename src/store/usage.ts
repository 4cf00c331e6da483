import { sql, type SQL } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { NO_API_KEY } from '../db/schema/usage-rollups.ts';
import { addCountsText, histogramPercentile } from '../responses/histogram.ts';

/**
 * /admin/usage and /v1/me/usage (DESIGN 12), read from the rollups (migration 0007), never from
 * raw rows: the rollup rows of the asked granularity in the range, plus the contributions not
 * folded into them yet (usage_pending, seconds' worth), summed per bucket and group here,
 * histograms included (arrays added element-wise), so a month by day costs one row per day
 * and group, whatever the traffic was.
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

interface RollupRow {
  start: Date;
  error_class: string;
  requests: string | number;
  input_tokens: string | number;
  output_tokens: string | number;
  cached_tokens: string | number;
  reasoning_tokens: string | number;
  /** Comma-separated counts (array_to_string). */
  latency_hist: string;
  ttft_hist: string;
  queue_hist: string;
  [dimension: string]: unknown;
}

/** Rollup rows per read: a month by hour is ~17,000 rows of three histograms. */
const CHUNK = 2_000;

export async function queryUsage(db: Db, q: UsageQuery): Promise<UsagePoint[]> {
  const byKey = q.userId !== undefined || q.groupBy.includes('user') || q.groupBy.includes('api_key');
  const users = byKey ? sql`LEFT JOIN users u ON u.id = r.user_id` : sql``;
  const dims = sql.join(q.groupBy.map((d) => sql`, ${COLUMN[d]} AS ${sql.identifier(`g_${d}`)}`), sql``);
  const owner = q.userId !== undefined ? sql`AND r.user_id = ${q.userId}` : sql``;
  const from = sql`date_trunc(${q.bucket}, ${q.from.toISOString()}::timestamptz, 'UTC')`;
  const to = sql`${q.to.toISOString()}::timestamptz`;
  const start = sql`date_trunc(${q.bucket}, r.bucket_ts, 'UTC')`;
  // The rollup table's primary key after granularity, the order the rows are read in.
  const key = byKey ? ROLLUP_BY_KEY_KEY : ROLLUP_KEY;
  const rKeyList = sql.join(key.map((c) => sql`r.${sql.identifier(c)}`), sql`, `);
  const sums: Sums = new Map();
  // Folded rows in chunks, then the contributions still pending, all in one snapshot
  // (REPEATABLE READ): a fold running meanwhile neither doubles nor drops a count. The
  // chunks hold at most CHUNK rows at a time, so an answer's memory follows its output, not
  // the rows it sums (V8 still grows its heap under the churn: in the bench, forty month-by-
  // hour answers took the web role from 130 to ~300 MB resident either way). A pending
  // contribution is a one-count histogram at its bucket (array_fill pads the buckets below).
  await db.transaction(
    async (tx) => {
      let after: SQL = sql``;
      for (;;) {
        const result = await tx.execute<RollupRow>(sql`
          SELECT r.bucket_start AS start, r.error_class, r.requests, r.input_tokens, r.output_tokens, r.cached_tokens,
                 r.reasoning_tokens, ${text(sql`r.latency_hist`)} AS latency_hist, ${text(sql`r.ttft_hist`)} AS ttft_hist,
                 ${text(sql`r.queue_hist`)} AS queue_hist ${dims}, json_build_array(${rKeyList}) AS k
          FROM ${byKey ? sql`usage_rollups_by_key` : sql`usage_rollups`} r ${users}
          WHERE r.granularity = ${q.bucket} AND r.bucket_start >= ${from} AND r.bucket_start < ${to} ${owner} ${after}
          ORDER BY ${rKeyList}
          LIMIT ${CHUNK}`);
        addRows(sums, result.rows, q.groupBy);
        const last = result.rows[result.rows.length - 1];
        if (result.rows.length < CHUNK || !last) break;
        const values = (last.k as unknown[]).map((v) => sql`${v}`);
        after = sql`AND (${rKeyList}) > (${sql.join(values, sql`, `)})`;
      }
      const hist = (bucket: string) => text(sql.raw(`CASE WHEN r.${bucket} IS NULL THEN '{}'::int[] ELSE array_fill(0, ARRAY[r.${bucket}::int]) || r.sign::int END`));
      const pending = await tx.execute<RollupRow>(sql`
        SELECT ${start} AS start, r.error_class, r.sign AS requests, r.input_tokens, r.output_tokens, r.cached_tokens,
               r.reasoning_tokens, ${hist('latency_bucket')} AS latency_hist, ${hist('ttft_bucket')} AS ttft_hist,
               ${hist('queue_bucket')} AS queue_hist ${dims}
        FROM usage_pending r ${users}
        WHERE ${start} >= ${from} AND ${start} < ${to} ${owner}`);
      addRows(sums, pending.rows, q.groupBy);
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
  return pointsOf(sums);
}

/**
 * A histogram column as comma-separated counts, which addCountsText reads in place (as int[],
 * node-postgres made a string of each of a month by hour's 3,000,000 counts).
 */
const text = (hist: SQL): SQL => sql`array_to_string(${hist}, ',')`;

/** Primary-key columns of the two rollup tables after granularity (migration 0007). */
const ROLLUP_KEY = ['bucket_start', 'model', 'service_tier', 'endpoint', 'error_class'] as const;
const ROLLUP_BY_KEY_KEY = ['bucket_start', 'model', 'user_id', 'api_key_id', 'service_tier', 'endpoint', 'error_class'] as const;

interface Sum {
  point: Omit<UsagePoint, 'latency_ms' | 'ttft_ms' | 'queue_delay_ms'>;
  latency: number[];
  ttft: number[];
  queue: number[];
}

type Sums = Map<string, Sum>;

/** Adds rollup rows into `sums`, per bucket start and group. */
function addRows(sums: Sums, rows: readonly RollupRow[], groupBy: readonly UsageDimension[]): void {
  for (const row of rows) {
    const start = new Date(row.start).toISOString();
    const group: UsagePoint['group'] = {};
    for (const d of groupBy) group[d] = (row[`g_${d}`] as string | null | undefined) ?? null;
    const key = JSON.stringify([start, ...groupBy.map((d) => group[d])]);
    let s = sums.get(key);
    if (!s) {
      s = {
        point: { start, group, requests: 0, errors: {}, cancelled: 0, input_tokens: 0, output_tokens: 0, cached_tokens: 0, reasoning_tokens: 0 },
        latency: [],
        ttft: [],
        queue: [],
      };
      sums.set(key, s);
    }
    const n = Number(row.requests);
    s.point.requests += n;
    if (row.error_class === 'cancelled') s.point.cancelled += n;
    else if (row.error_class !== '') s.point.errors[row.error_class] = (s.point.errors[row.error_class] ?? 0) + n;
    s.point.input_tokens += Number(row.input_tokens);
    s.point.output_tokens += Number(row.output_tokens);
    s.point.cached_tokens += Number(row.cached_tokens);
    s.point.reasoning_tokens += Number(row.reasoning_tokens);
    addCountsText(s.latency, row.latency_hist);
    addCountsText(s.ttft, row.ttft_hist);
    addCountsText(s.queue, row.queue_hist);
  }
}

/** The summed points, percentiles read off their histograms, oldest first, then by group. */
function pointsOf(sums: Sums): UsagePoint[] {
  const out: UsagePoint[] = [];
  for (const s of sums.values()) {
    for (const [k, v] of Object.entries(s.point.errors)) if (v === 0) delete s.point.errors[k];
    if (s.point.requests === 0) continue; // every count there moved elsewhere (a late record)
    out.push({
      ...s.point,
      latency_ms: { p50: histogramPercentile(s.latency, 50), p95: histogramPercentile(s.latency, 95), p99: histogramPercentile(s.latency, 99) },
      ttft_ms: { p50: histogramPercentile(s.ttft, 50), p95: histogramPercentile(s.ttft, 95) },
      queue_delay_ms: { p50: histogramPercentile(s.queue, 50), p95: histogramPercentile(s.queue, 95) },
    });
  }
  // Oldest first, then by group: the same data in the same order whichever rows held it.
  const order = (p: UsagePoint) => `${p.start}\u0000${JSON.stringify(p.group)}`;
  return out.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
}
