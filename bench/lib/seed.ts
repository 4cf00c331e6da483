// Seeds a database with millions of finished request rows for P5 (analytics at scale), P6
// (growth) and the retention figure, fast: set-based INSERT … SELECT over generate_series in
// chunks, with the requests table's secondary indexes dropped and rebuilt afterwards (far
// cheaper than maintaining a trigram GIN row by row). Every row is one volley could have
// written: a batch of one, the columns complete-response fills, a search_text, timings (TTFT
// on streams, queue delay on background and flex rows), failures and cancellations. The usage
// rollups hold exactly what the triggers and the fold would have made of these rows.
import pg from 'pg';

export interface SeedOptions {
  url: string;
  rows: number;
  /** The rows' owners: created_by and api_key_id, round-robin. */
  owners: { userId: string; apiKeyId: string }[];
  /** created_at spread evenly over this many days before now. */
  days: number;
  log: (line: string) => void;
}

export const SEED_MODELS = ['llama-3.1-8b', 'qwen2.5-32b', 'mistral-7b', 'gpt-oss-20b'] as const;
/** Words of search_text: row i holds word (i % 4999) of one vocabulary and (i % 3001) of another. */
export const seedWord = (vocabulary: 'a' | 'b', n: number): string => `${vocabulary}${n.toString(16).padStart(4, '0')}x`;
/** Rows per statement: one chunk of a few seconds, so progress shows. */
const CHUNK = 500_000;

// Row i's columns. $1 first i of the chunk, $2 last i, $3 total rows, $4 days, $5 user ids,
// $6 key ids (parallel arrays). kind (0-19, hashed): 0-13 chat (every 5th streamed), 14-16 realtime
// responses, 17 background, 18 flex, 19 streamed responses. 1 in 50 failed with a 500, 1 in
// 50 with a 429 (realtime ones), 1 in 10 background ones canceled.
const ROWS_SQL = `
  SELECT i, md5('volley-seed-' || i)::uuid AS id, k.kind, k.owner,
         now() - ($4::float8 * (1 - i::float8 / $3)) * interval '1 day' AS at,
         (ARRAY['${SEED_MODELS.join("','")}'])[1 + k.h3] AS model,
         CASE WHEN k.kind < 14 THEN '/v1/chat/completions' ELSE '/v1/responses' END AS endpoint,
         CASE WHEN k.kind IN (17, 18) AND k.h4 % 10 = 3 THEN 'canceled'
              WHEN k.h4 % 50 IN (7, 13) THEN 'failed' ELSE 'completed' END AS state,
         CASE WHEN k.h4 % 50 = 13 THEN 429 ELSE 500 END AS fail_status,
         (k.kind < 14 AND k.kind % 5 = 0) OR k.kind = 19 AS stream,
         (20 + (i * 31) % 900)::int AS prompt_tokens, (5 + (i * 17) % 400)::int AS completion_tokens,
         40 + ((i * 7919) % 4000)::float8 / 3 AS duration_ms,
         CASE WHEN k.kind IN (17, 18) THEN 200 + (i % 5000)::float8 ELSE 0 END AS queue,
         'a' || lpad(to_hex(i % 4999), 4, '0') || 'x' AS w1, 'b' || lpad(to_hex(i % 3001), 4, '0') || 'x' AS w2,
         'c' || lpad(to_hex(i % 997), 4, '0') || 'x' AS w3
  FROM generate_series($1::bigint, $2::bigint) AS i
  -- Kind, owner, model and outcome each from a hash of their own, so none follows another.
  CROSS JOIN LATERAL (
    SELECT (abs(hashint8(i * 4)::bigint) % 20)::int AS kind,
           (abs(hashint8(i * 4 + 1)::bigint) % array_length($5::uuid[], 1))::int + 1 AS owner,
           (abs(hashint8(i * 4 + 2)::bigint) % 4)::int AS h3, abs(hashint8(i * 4 + 3)::bigint) AS h4
  ) AS k`;

/** The seeded rows, cut into chunks: one INSERT each for batches and requests. */
export async function seedRequests(opts: SeedOptions): Promise<{ rows: number; seconds: number; phases: Record<string, number> }> {
  const client = new pg.Client({ connectionString: opts.url, application_name: 'bench-seed' });
  await client.connect();
  const phases: Record<string, number> = {};
  const started = performance.now();
  const phase = async (name: string, fn: () => Promise<unknown>): Promise<void> => {
    const t = performance.now();
    await fn();
    phases[name] = Math.round((performance.now() - t) / 100) / 10;
    opts.log(`seed: ${name} in ${phases[name]} s`);
  };
  try {
    await client.query(`SET maintenance_work_mem = '1GB'`);
    await client.query('SET max_parallel_maintenance_workers = 2');
    const { rows: indexes } = await client.query<{ name: string; def: string }>(
      `SELECT indexname AS name, indexdef AS def FROM pg_indexes
       WHERE schemaname = current_schema() AND tablename = 'requests' AND indexname <> 'requests_pkey'`,
    );
    await phase('drop secondary indexes', () => client.query(indexes.map((i) => `DROP INDEX "${i.name}";`).join('\n')));
    // The usage trigger stays off while seeding: the rollups are computed below, in one pass.
    await client.query('ALTER TABLE requests DISABLE TRIGGER requests_usage_insert');
    const users = opts.owners.map((o) => o.userId);
    const keys = opts.owners.map((o) => o.apiKeyId);
    await phase(`insert ${opts.rows} batches and requests`, async () => {
      for (let first = 1; first <= opts.rows; first += CHUNK) {
        const last = Math.min(opts.rows, first + CHUNK - 1);
        const params = [first, last, opts.rows, opts.days, users, keys];
        await client.query(
          `INSERT INTO batches (id, created_by, endpoint, completion_window, created_at, updated_at, completed_at)
           SELECT id, ($5::uuid[])[owner], endpoint, CASE WHEN kind = 18 THEN '1h' WHEN kind = 17 THEN '10m' ELSE '0s' END, at, at, at
           FROM (${ROWS_SQL}) AS s`,
          params.slice(0, 5),
        );
        await client.query(insertRequestsSql(), params);
        opts.log(`seed: ${last} of ${opts.rows} rows`);
      }
    });
    await client.query('ALTER TABLE requests ENABLE TRIGGER requests_usage_insert');
    await phase('rebuild secondary indexes', async () => {
      for (const i of indexes) await client.query(i.def);
    });
    await phase('vacuum (analyze)', () => client.query('VACUUM (ANALYZE) requests, batches'));
    // The rollups as the fold would leave them, computed in one pass per table: each row's
    // contribution by the triggers' own function (volley_pending_of), summed per bucket and
    // group. (Folding 5,000,000 contributions through usage_pending 250,000 at a time, as
    // upserts, took 160 s per 1,000,000 rows; this takes seconds.)
    await phase('rollups', async () => {
      await client.query(`CREATE TEMP TABLE seed_pending AS SELECT p.* FROM requests r CROSS JOIN LATERAL volley_pending_of(r, 1) AS p`);
      for (const [table, dims] of [['usage_rollups', ''], ['usage_rollups_by_key', ', user_id, api_key_id']] as const) {
        await client.query(`
          INSERT INTO ${table} (granularity, bucket_start, model, service_tier, endpoint, error_class ${dims}, requests, input_tokens,
                                output_tokens, cached_tokens, reasoning_tokens, latency_hist, ttft_hist, queue_hist)
          SELECT g.name, date_trunc(g.name, p.bucket_ts, 'UTC'), model, service_tier, endpoint, error_class ${dims}, sum(sign),
                 sum(input_tokens), sum(output_tokens), sum(cached_tokens), sum(reasoning_tokens),
                 volley_hist_of(array_agg(latency_bucket), array_agg(sign)), volley_hist_of(array_agg(ttft_bucket), array_agg(sign)),
                 volley_hist_of(array_agg(queue_bucket), array_agg(sign))
          FROM seed_pending p CROSS JOIN (VALUES ('minute'), ('hour'), ('day')) AS g(name)
          GROUP BY g.name, 2, model, service_tier, endpoint, error_class ${dims}`);
      }
      await client.query('DROP TABLE seed_pending');
      const { rows } = await client.query<{ n: number }>(`SELECT sum(requests)::int AS n FROM usage_rollups_by_key WHERE granularity = 'minute'`);
      if (rows[0]!.n !== opts.rows) throw new Error(`seed: the rollups count ${rows[0]!.n} requests, not ${opts.rows}`);
    });
    await phase('vacuum (analyze) rollups', () => client.query('VACUUM (ANALYZE) usage_rollups, usage_rollups_by_key'));
    // Write the seed's gigabytes out now: else the checkpoint the seed's WAL started goes on
    // writing them, paced over minutes, under P5, P6 and retention, and its fsyncs land in
    // whichever timed segment is running (on both databases: checkpoints are per server).
    // A server's own DATABASE_URL may not grant CHECKPOINT (pg_checkpoint); then it is skipped.
    await phase('checkpoint', () =>
      client.query('CHECKPOINT').catch((err: unknown) => opts.log(`seed: no CHECKPOINT (${String(err)})`)),
    );
    return { rows: opts.rows, seconds: Math.round((performance.now() - started) / 1000), phases };
  } finally {
    await client.end();
  }
}

function insertRequestsSql(): string {
  // Body and answer as a chat completion (or a Responses object) of the dev upstream's shape,
  // small; search_text as complete-response would derive it from them.
  return `
    INSERT INTO requests (id, batch_id, state, endpoint, model, service_tier, background, body, created_by, api_key_id,
      response_status, response_body, error, started_at, completed_at, failed_at, canceled_at, prompt_tokens,
      completion_tokens, total_tokens, response_size, received_at, upstream_started_at, first_byte_at, finished_at,
      duration_ms, ttft_ms, queue_delay_ms, finish_reason, served_service_tier, upstream_model, metadata, end_user,
      search_text, created_at, updated_at)
    SELECT id, id, state, endpoint, model, CASE WHEN kind = 18 THEN 'flex' ELSE 'default' END, kind = 17,
      body, ($5::uuid[])[owner], ($6::uuid[])[owner],
      CASE WHEN state = 'failed' THEN fail_status WHEN state = 'completed' THEN 200 END,
      CASE WHEN state = 'completed' THEN answer END,
      CASE WHEN state = 'failed' THEN json_build_object('type', 'NonRetriableHttpStatus', 'details',
        json_build_object('status', fail_status, 'body', '{"error":{"message":"upstream failed"}}'))::text END,
      at, CASE WHEN state = 'completed' THEN done END, CASE WHEN state = 'failed' THEN done END,
      CASE WHEN state = 'canceled' THEN done END,
      CASE WHEN state = 'completed' THEN prompt_tokens END, CASE WHEN state = 'completed' THEN completion_tokens END,
      CASE WHEN state = 'completed' THEN prompt_tokens + completion_tokens END,
      CASE WHEN state = 'completed' THEN length(answer) END,
      at, at + queue * interval '1 ms', CASE WHEN state <> 'canceled' THEN at + (queue + 30) * interval '1 ms' END, done,
      duration_ms + queue, CASE WHEN stream AND state = 'completed' THEN 30 + (i % 97)::float8 END,
      CASE WHEN kind IN (17, 18) THEN queue END,
      CASE WHEN state = 'completed' THEN CASE WHEN i % 40 = 1 THEN 'length' ELSE 'stop' END END,
      CASE WHEN state = 'completed' THEN CASE WHEN kind = 18 THEN 'flex' ELSE 'default' END END,
      CASE WHEN state = 'completed' THEN model END,
      CASE WHEN i % 10 = 0 THEN jsonb_build_object('team', 't' || (i % 7), 'env', 'prod') END,
      CASE WHEN i % 3 = 0 THEN 'end-user-' || (i % 1000) END,
      CASE WHEN state = 'completed' THEN prompt || E'\\n' || 'answer for ' || w3 ELSE prompt END,
      at, done
    FROM (
      SELECT s.*, s.at + (s.queue + s.duration_ms) * interval '1 ms' AS done,
        'bench question ' || s.w1 || ' about ' || s.w2 || ' number ' || s.i AS prompt_text
      FROM (${ROWS_SQL}) AS s
    ) AS t0
    CROSS JOIN LATERAL (
      SELECT t0.prompt_text AS prompt,
        CASE WHEN t0.endpoint = '/v1/chat/completions'
          THEN json_build_object('model', t0.model, 'stream', t0.stream, 'messages', json_build_array(json_build_object('role', 'user', 'content', t0.prompt_text)))::text
          ELSE json_build_object('model', t0.model, 'stream', t0.stream, 'input', t0.prompt_text)::text END AS body,
        CASE WHEN t0.endpoint = '/v1/chat/completions'
          THEN json_build_object('id', 'chatcmpl-' || t0.i, 'object', 'chat.completion', 'model', t0.model, 'choices',
            json_build_array(json_build_object('index', 0, 'finish_reason', 'stop', 'message',
              json_build_object('role', 'assistant', 'content', 'answer for ' || t0.w3))),
            'usage', json_build_object('prompt_tokens', t0.prompt_tokens, 'completion_tokens', t0.completion_tokens))::text
          ELSE json_build_object('id', 'resp_' || t0.id, 'object', 'response', 'status', 'completed', 'model', t0.model, 'output',
            json_build_array(json_build_object('type', 'message', 'role', 'assistant', 'content',
              json_build_array(json_build_object('type', 'output_text', 'text', 'answer for ' || t0.w3)))),
            'usage', json_build_object('input_tokens', t0.prompt_tokens, 'output_tokens', t0.completion_tokens))::text END AS answer
    ) AS b`;
}
