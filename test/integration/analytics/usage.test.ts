// /admin/usage and /v1/me/usage (DESIGN 12) from the rollups: every group_by against the
// answer worked out from the seed and the raw rows, percentiles within one histogram bucket
// of the exact ones, a late record moving its count, rows of other days, retention keeping
// the counts, the GenAI metrics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyRetention } from '../../../src/jobs/handlers/sweep.ts';
import { bucketOf } from '../../../src/responses/histogram.ts';
import { completeResponseIdempotent } from '../../../src/store/requests/complete.ts';
import { createSingleRequestBatch } from '../../../src/store/requests/create.ts';
import { failLostRealtimeRequests } from '../../../src/store/requests/sweep.ts';
import { deleteMinuteRollupsBefore, foldPendingUsage } from '../../../src/store/usage-fold.ts';
import type { UsagePoint } from '../../../src/store/usage.ts';
import { seedTraffic, type Seed, type SeededRequest } from '../../helpers/analytics-seed.ts';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../../helpers/app.ts';
import { realtimeRequest } from '../../helpers/factories.ts';
import { completionOf } from '../../../src/jobs/handlers/complete-response.ts';

let gw: TestGateway;
let seed: Seed;

beforeAll(async () => {
  gw = await startTestGateway();
  seed = await seedTraffic(gw);
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

interface Usage {
  object: string;
  bucket: string;
  data: UsagePoint[];
}

async function usage(query: string, key?: string): Promise<Usage> {
  const res = await fetch(`${gw.url}${key ? '/v1/me/usage' : '/admin/usage'}?${query}`, {
    headers: { authorization: `Bearer ${key ?? ADMIN_TOKEN}` },
  });
  expect(res.status, query).toBe(200);
  return (await res.json()) as Usage;
}

/**
 * Folds until nothing is pending. The worker folds every second as well, and a fold returns 0
 * also when the worker's fold holds the lock, so this folds until none is left.
 */
async function foldAll(): Promise<number> {
  const pending = async () => (await gw.t.pool.query(`SELECT count(*)::int AS n FROM usage_pending`)).rows[0].n as number;
  for (let i = 0; i < 100 && (await pending()) > 0; i++) {
    if ((await foldPendingUsage(gw.t.db)) === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pending();
}

const range = () => `from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 60_000).toISOString()}`;

/** The raw rows of the seed, for token sums and exact percentiles. */
async function rawRows() {
  const { rows } = await gw.t.pool.query(
    `SELECT id, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens, duration_ms, ttft_ms, queue_delay_ms FROM requests WHERE id = ANY($1)`,
    [seed.requests.map((r) => r.id)],
  );
  return new Map(rows.map((r) => [r.id as string, r]));
}

const groupValue = (r: SeededRequest, dim: string): string | null => {
  switch (dim) {
    case 'model':
      return r.model;
    case 'user':
      return r.user === 'alice' ? seed.users.alice : seed.users.bob;
    case 'api_key':
      return seed.keys[r.key].id;
    case 'service_tier':
      return r.serviceTier;
    case 'endpoint':
      return r.endpoint;
  }
  throw new Error(dim);
};

/** Data points summed over buckets, by group. */
function byGroup(data: UsagePoint[]) {
  const out = new Map<string, { requests: number; errors: Record<string, number>; input: number; output: number }>();
  for (const p of data) {
    const key = JSON.stringify(p.group);
    const g = out.get(key) ?? { requests: 0, errors: {}, input: 0, output: 0 };
    g.requests += p.requests;
    g.input += p.input_tokens;
    g.output += p.output_tokens;
    for (const [k, v] of Object.entries(p.errors)) g.errors[k] = (g.errors[k] ?? 0) + v;
    out.set(key, g);
  }
  return out;
}

describe('GET /admin/usage', () => {
  it.each([['model'], ['user'], ['api_key'], ['service_tier'], ['endpoint'], ['model,user'], ['user,api_key,model,service_tier,endpoint']])(
    'group_by=%s matches the seed by hand, bucket=hour and day',
    async (groupBy) => {
      const dims = groupBy.split(',');
      const raw = await rawRows();
      const expected = new Map<string, { requests: number; errors: Record<string, number>; input: number; output: number }>();
      for (const r of seed.requests) {
        const group = Object.fromEntries(dims.map((d) => [d, groupValue(r, d)]));
        const key = JSON.stringify(group);
        const e = expected.get(key) ?? { requests: 0, errors: {}, input: 0, output: 0 };
        e.requests++;
        if (r.httpStatus === 500) e.errors.server_error = (e.errors.server_error ?? 0) + 1;
        if (r.httpStatus === 429) e.errors.rate_limit_error = (e.errors.rate_limit_error ?? 0) + 1;
        e.input += raw.get(r.id).prompt_tokens ?? 0;
        e.output += raw.get(r.id).completion_tokens ?? 0;
        expected.set(key, e);
      }
      for (const bucket of ['hour', 'day', 'minute']) {
        const got = await usage(`${range()}&bucket=${bucket}&group_by=${groupBy}`);
        expect(got.object).toBe('usage');
        expect(got.bucket).toBe(bucket);
        // The seed is all this test database has (its other tests add their own, later rows).
        const sums = byGroup(got.data.filter((p) => seed.requests.some((r) => JSON.stringify(Object.fromEntries(dims.map((d) => [d, groupValue(r, d)]))) === JSON.stringify(p.group))));
        // Keys of groups in the same order as the answer's (JSON of the group object).
        const normalise = (m: Map<string, unknown>) => new Map([...m].map(([k, v]) => [JSON.stringify(Object.fromEntries(Object.entries(JSON.parse(k)).sort())), v]));
        expect(normalise(sums), `${groupBy} by ${bucket}`).toEqual(normalise(expected));
      }
    },
  );

  it('no group_by: one series; tokens, errors and requests over everything seeded', async () => {
    const got = await usage(`${range()}&bucket=day`);
    const total = got.data.reduce((n, p) => n + p.requests, 0);
    expect(total).toBe(seed.requests.length);
    const errors = got.data.reduce((n, p) => n + Object.values(p.errors).reduce((a, b) => a + b, 0), 0);
    expect(errors).toBe(seed.requests.filter((r) => r.status === 'failed').length);
    for (const p of got.data) expect(p.group).toEqual({});
  });

  it('latency, TTFT and queue percentiles are within one bucket of the exact ones', async () => {
    const raw = [...(await rawRows()).values()];
    const exact = (values: number[], p: number) => {
      const sorted = values.filter((v) => v !== null).map(Number).sort((a, b) => a - b);
      return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
    };
    const got = await usage(`${range()}&bucket=day`);
    expect(got.data).toHaveLength(1);
    const point = got.data[0]!;
    const durations = raw.map((r) => r.duration_ms as number);
    for (const [p, value] of [[50, point.latency_ms.p50], [95, point.latency_ms.p95], [99, point.latency_ms.p99]] as const) {
      expect(value, `latency p${p}`).not.toBeNull();
      expect(Math.abs(bucketOf(value!)! - bucketOf(exact(durations, p))!), `latency p${p}: ${value} vs ${exact(durations, p)}`).toBeLessThanOrEqual(1);
    }
    const ttfts = raw.map((r) => r.ttft_ms).filter((v) => v !== null) as number[];
    expect(ttfts.length).toBe(1);
    expect(Math.abs(bucketOf(point.ttft_ms.p50!)! - bucketOf(exact(ttfts, 50))!)).toBeLessThanOrEqual(1);
    const queues = raw.map((r) => r.queue_delay_ms).filter((v) => v !== null) as number[];
    expect(queues.length).toBe(2);
    expect(Math.abs(bucketOf(point.queue_delay_ms.p95!)! - bucketOf(exact(queues, 95))!)).toBeLessThanOrEqual(1);
  });

  it('a bad query is a 400; too many buckets too', async () => {
    for (const q of ['bucket=week', 'group_by=colour', 'from=2026-01-02&to=2026-01-01', 'bucket=minute&from=2020-01-01&to=2026-01-01']) {
      const res = await fetch(`${gw.url}/admin/usage?${q}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status, q).toBe(400);
    }
  });
});

describe('/v1/me/usage', () => {
  it("counts only the key's own user", async () => {
    const alice = await usage(`${range()}&bucket=day&group_by=user`, seed.keys.a2.key);
    expect(alice.data.map((p) => p.group.user)).toEqual([seed.users.alice]);
    expect(alice.data[0]!.requests).toBe(seed.requests.filter((r) => r.user === 'alice').length);
    const bob = await usage(`${range()}&bucket=day&group_by=model`, seed.keys.b1.key);
    expect(bob.data.reduce((n, p) => n + p.requests, 0)).toBe(seed.requests.filter((r) => r.user === 'bob').length);
  });
});

describe('rollups as rows change', () => {
  const owner = () => seed.keys.a1.userId;
  async function total(model: string) {
    const got = await usage(`from=2000-01-01&to=${new Date(Date.now() + 60_000).toISOString()}&bucket=day&group_by=model`);
    const points = got.data.filter((p) => p.group.model === model);
    return {
      requests: points.reduce((n, p) => n + p.requests, 0),
      errors: points.reduce<Record<string, number>>((e, p) => {
        for (const [k, v] of Object.entries(p.errors)) e[k] = (e[k] ?? 0) + v;
        return e;
      }, {}),
      days: points.map((p) => p.start),
    };
  }

  it('a late record over TrackingLost moves its count from the error to the success', async () => {
    const model = `late-${Date.now()}`;
    const r = realtimeRequest({ owner: owner(), model });
    await createSingleRequestBatch(gw.t.db, { ...r.create, state: 'processing', background: false, completionWindow: '0s', expiresAt: null, createdBy: owner() });
    await gw.t.pool.query(`UPDATE requests SET updated_at = now() - interval '1 hour' WHERE id = $1`, [r.create.requestId]);
    expect(await failLostRealtimeRequests(gw.t.db, { staleAfterMs: 60_000 })).toContain(r.create.requestId);
    expect(await total(model)).toMatchObject({ requests: 1, errors: { TrackingLost: 1 } });
    expect(await completeResponseIdempotent(gw.t.db, completionOf({ ...r.complete, createdBy: owner() }))).toBe('changed');
    expect(await total(model)).toMatchObject({ requests: 1, errors: {} });
    // Once terminal and counted, a write that changes nothing counted (a delete mark) moves nothing.
    await gw.t.pool.query(`UPDATE requests SET deleted_at = now() WHERE id = $1`, [r.create.requestId]);
    expect(await total(model)).toMatchObject({ requests: 1, errors: {} });
  });

  it('rows of earlier days land in their own day; retention deletes them in batches and keeps the counts', async () => {
    const model = `old-${Date.now()}`;
    const insertOld = async (n: number, daysAgo: number) =>
      gw.t.pool.query(
        `WITH b AS (INSERT INTO batches (id, created_by, endpoint, completion_window)
                    SELECT gen_random_uuid(), $1, '/v1/chat/completions', '0s' FROM generate_series(1, $2) RETURNING id)
         INSERT INTO requests (id, batch_id, state, endpoint, model, body, created_by, response_status, response_body,
                               completed_at, prompt_tokens, completion_tokens, duration_ms, received_at, created_at)
         SELECT gen_random_uuid(), b.id, 'completed', '/v1/chat/completions', $3, '{}', $1, 200, '{}',
                now() - make_interval(days => $4), 3, 4, 12.5, now() - make_interval(days => $4), now() - make_interval(days => $4)
         FROM b`,
        [owner(), n, model, daysAgo],
      );
    await insertOld(25, 10);
    await insertOld(2, 3);
    const before = await total(model);
    expect(before.requests).toBe(27);
    expect(before.days).toHaveLength(2);

    // Batches of 10: three statements for the 25 rows older than 5 days; the 3-day-old ones stay.
    expect(await foldAll()).toBe(0);
    const granularities = async (table: string) =>
      (
        await gw.t.pool.query<{ g: string; old: boolean; n: number }>(
          `SELECT granularity AS g, bucket_start < now() - interval '5 days' AS old, sum(requests)::int AS n
           FROM ${table} WHERE model = $1 GROUP BY 1, 2 ORDER BY 1, 2`,
          [model],
        )
      ).rows;
    const everyBucket = [
      { g: 'day', old: false, n: 2 }, { g: 'day', old: true, n: 25 },
      { g: 'hour', old: false, n: 2 }, { g: 'hour', old: true, n: 25 },
      { g: 'minute', old: false, n: 2 }, { g: 'minute', old: true, n: 25 },
    ];
    for (const table of ['usage_rollups', 'usage_rollups_by_key']) expect(await granularities(table)).toEqual(everyBucket);
    const tenDaysAgo = `from=${new Date(Date.now() - 11 * 86_400_000).toISOString()}&to=${new Date(Date.now() - 9 * 86_400_000).toISOString()}`;
    const countIn = async (query: string) =>
      (await usage(query)).data.filter((p) => p.group.model === model).reduce((n, p) => n + p.requests, 0);
    expect(await countIn(`${tenDaysAgo}&bucket=minute&group_by=model`)).toBe(25);

    const deleted = await applyRetention(gw.t.db, { retentionDays: 5, batch: 10 });
    expect(deleted.requests).toBeGreaterThanOrEqual(25);
    const { rows } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE model = $1`, [model]);
    expect(rows[0].n).toBe(2);
    expect(await total(model)).toEqual(before);
    // The minute rows of before the cut-off went with the requests, in both tables; hour and
    // day rows stay, and so do the minute rows of the 3-day-old requests.
    expect(deleted.minuteRollups).toBeGreaterThanOrEqual(2);
    const kept = everyBucket.filter((b) => b.g !== 'minute' || !b.old);
    for (const table of ['usage_rollups', 'usage_rollups_by_key']) expect(await granularities(table)).toEqual(kept);
    expect(await countIn(`${tenDaysAgo}&bucket=minute&group_by=model`)).toBe(0);
    expect(await countIn(`${tenDaysAgo}&bucket=hour&group_by=model`)).toBe(25);
    expect(await countIn(`${tenDaysAgo}&bucket=hour&group_by=model,user`)).toBe(25);
    // The seed's rows are today's: untouched.
    const { rows: recent } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM requests WHERE id = ANY($1)`, [seed.requests.map((r) => r.id)]);
    expect(recent[0].n).toBe(seed.requests.length);
  });
});

describe('an answer over more rollup rows than one read takes', () => {
  it('reads every row, in chunks, in both tables', async () => {
    // 2,600 hours × 2 models (5,200 rows) in each rollup table, 200+ days back: more than the
    // 2,000 rows queryUsage reads at a time, with several rows sharing a bucket start.
    const user = seed.users.alice;
    const { rows: ids } = await gw.t.pool.query<{ id: string }>(`SELECT id FROM users WHERE name = $1`, [user]);
    const userId = ids[0]!.id;
    const cols = `granularity, bucket_start, model, service_tier, endpoint, error_class, requests, input_tokens, output_tokens,
                  cached_tokens, reasoning_tokens, latency_hist, ttft_hist, queue_hist`;
    const rows = `SELECT 'hour', date_trunc('hour', now()) - interval '200 days' - h * interval '1 hour', m, 'default', '/v1/responses',
                         CASE WHEN h % 3 = 0 THEN 'server_error' ELSE '' END, 2, h, 1, 0, 0, ARRAY[0, 1, 1], '{}'::int[], '{}'::int[]
                  FROM generate_series(0, 2599) AS h CROSS JOIN (VALUES ('chunk-a'), ('chunk-b')) AS t(m)`;
    await gw.t.pool.query(`INSERT INTO usage_rollups (${cols}) ${rows}`);
    await gw.t.pool.query(
      `INSERT INTO usage_rollups_by_key (${cols}, user_id, api_key_id)
       SELECT x.*, $1::uuid, '00000000-0000-0000-0000-000000000000'::uuid FROM (${rows}) AS x`,
      [userId],
    );
    const from = new Date(Date.now() - 320 * 86_400_000).toISOString();
    const to = new Date(Date.now() - 190 * 86_400_000).toISOString();
    for (const groupBy of ['model', 'model,user']) {
      const data = (await usage(`from=${from}&to=${to}&bucket=hour&group_by=${groupBy}`)).data.filter((p) => p.group.model?.startsWith('chunk-'));
      expect(data).toHaveLength(5_200);
      expect(data.reduce((n, p) => n + p.requests, 0)).toBe(10_400);
      expect(data.reduce((n, p) => n + p.input_tokens, 0)).toBe(2 * (2599 * 2600) / 2);
      expect(data.reduce((n, p) => n + (p.errors.server_error ?? 0), 0)).toBe(2 * 2 * 867);
      expect(new Set(data.map((p) => `${p.start} ${p.group.model}`)).size).toBe(5_200);
      if (groupBy === 'model,user') expect(new Set(data.map((p) => p.group.user))).toEqual(new Set([user]));
    }
  });
});

describe('the fold', () => {
  it('moves pending contributions into the rollups without changing any answer, each once', async () => {
    const query = `from=2000-01-01&to=${new Date(Date.now() + 60_000).toISOString()}&bucket=day&group_by=model,user,api_key,service_tier,endpoint`;
    const before = await usage(query);
    // Fold what the worker has not yet, and check nothing is left or doubled.
    expect(await foldAll()).toBe(0);
    expect(await usage(query)).toEqual(before);
    expect(await foldPendingUsage(gw.t.db)).toBe(0);
    expect(await usage(query)).toEqual(before);
  });

  /** The fold's lock, held by a transaction of another connection until `release()` (idempotent). */
  async function holdFoldLock(): Promise<{ release: () => Promise<void> }> {
    const holder = await gw.t.pool.connect();
    await holder.query('BEGIN');
    await holder.query(`SELECT pg_advisory_xact_lock(hashtextextended('volley:usage-fold', 0))`);
    let held = true;
    return {
      release: async () => {
        if (!held) return;
        held = false;
        await holder.query('ROLLBACK');
        holder.release();
      },
    };
  }

  it('a fold that another fold holds the lock for skips its turn', async () => {
    const lock = await holdFoldLock();
    try {
      await gw.t.pool.query(`INSERT INTO usage_pending SELECT now(), 'm', gen_random_uuid(), gen_random_uuid(), 'default', '/v1/responses', '', 1, 0, 0, 0, 0, NULL, NULL, NULL`);
      expect(await foldPendingUsage(gw.t.db)).toBe(0);
    } finally {
      await lock.release();
    }
    expect(await foldPendingUsage(gw.t.db)).toBeGreaterThan(0);
  });

  it("retention's delete of minute rows waits for a fold's lock rather than skipping its turn", async () => {
    const model = `locked-${Date.now()}`;
    await gw.t.pool.query(
      `INSERT INTO usage_rollups (granularity, bucket_start, model, service_tier, endpoint, error_class, requests, input_tokens,
                                  output_tokens, cached_tokens, reasoning_tokens, latency_hist, ttft_hist, queue_hist)
       VALUES ('minute', now() - interval '400 days', $1, 'default', '/v1/responses', '', 1, 0, 0, 0, 0, '{}', '{}', '{}')`,
      [model],
    );
    const lock = await holdFoldLock();
    try {
      const deleting = deleteMinuteRollupsBefore(gw.t.db, 'usage_rollups', new Date(Date.now() - 399 * 86_400_000), 100);
      // Its backend waits on the advisory lock the holder has.
      for (let i = 0; i < 200; i++) {
        const { rows } = await gw.t.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory' AND datname = current_database()`,
        );
        if (rows[0].n > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const { rows: left } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM usage_rollups WHERE model = $1`, [model]);
      expect(left[0].n).toBe(1);
      await lock.release();
      expect(await deleting).toBe(1);
    } finally {
      await lock.release();
    }
    const { rows } = await gw.t.pool.query(`SELECT count(*)::int AS n FROM usage_rollups WHERE model = $1`, [model]);
    expect(rows[0].n).toBe(0);
  });
});

describe('GET /metrics', () => {
  it('GenAI token usage, TTFT and duration by model and status; tracking lag; queue depths', async () => {
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    expect(text).toMatch(/gen_ai_client_token_usage_count\{gen_ai_request_model="dev-model",gen_ai_operation_name="chat",gen_ai_token_type="input"\} [1-9]/);
    expect(text).toMatch(/gen_ai_client_token_usage_sum\{gen_ai_request_model="dev-model",gen_ai_operation_name="responses",gen_ai_token_type="output"\} [1-9]/);
    expect(text).toMatch(/gen_ai_server_time_to_first_token_seconds_count\{gen_ai_request_model="dev-model",gen_ai_operation_name="chat"\} [1-9]/);
    expect(text).toMatch(/gen_ai_server_request_duration_seconds_count\{gen_ai_request_model="dev-status-500",gen_ai_operation_name="responses",status="failed"\} [1-9]/);
    expect(text).toMatch(/gen_ai_server_request_duration_seconds_count\{gen_ai_request_model="dev-model",gen_ai_operation_name="responses",status="completed"\} [1-9]/);
    expect(text).toMatch(/volley_tracking_lag_seconds_count [1-9]/);
    expect(text).toMatch(/volley_queue_depth\{queue="complete-response",state="queued"\} \d+/);
    expect(text).toMatch(/volley_queue_depth\{queue="process-request",state="active"\} \d+/);
  });
});
