-- Trigram search over requests.search_text (q of /admin/requests). A trusted extension: a
-- database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "usage_rollups" (
	"granularity" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"model" text NOT NULL,
	"service_tier" text NOT NULL,
	"endpoint" text NOT NULL,
	"error_class" text NOT NULL,
	"requests" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"latency_hist" integer[] NOT NULL,
	"ttft_hist" integer[] NOT NULL,
	"queue_hist" integer[] NOT NULL,
	CONSTRAINT "usage_rollups_pk" PRIMARY KEY("granularity","bucket_start","model","service_tier","endpoint","error_class")
);
--> statement-breakpoint
CREATE TABLE "usage_rollups_by_key" (
	"granularity" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"model" text NOT NULL,
	"service_tier" text NOT NULL,
	"endpoint" text NOT NULL,
	"error_class" text NOT NULL,
	"requests" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"latency_hist" integer[] NOT NULL,
	"ttft_hist" integer[] NOT NULL,
	"queue_hist" integer[] NOT NULL,
	"user_id" uuid NOT NULL,
	"api_key_id" uuid NOT NULL,
	CONSTRAINT "usage_rollups_by_key_pk" PRIMARY KEY("granularity","bucket_start","model","user_id","api_key_id","service_tier","endpoint","error_class")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "received_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "upstream_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "first_byte_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "finished_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "duration_ms" double precision;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "ttft_ms" double precision;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "queue_delay_ms" double precision;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "cached_tokens" integer;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "reasoning_tokens" integer;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "finish_reason" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "served_service_tier" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "upstream_model" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "metadata" jsonb;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "end_user" text;--> statement-breakpoint
ALTER TABLE "requests" ADD COLUMN "search_text" text;--> statement-breakpoint
CREATE INDEX "requests_created_at_id_idx" ON "requests" USING btree ("created_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "requests_api_key_created_at_idx" ON "requests" USING btree ("api_key_id","created_at");--> statement-breakpoint
CREATE INDEX "requests_metadata_idx" ON "requests" USING gin ("metadata" jsonb_path_ops) WHERE "requests"."metadata" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "requests_search_text_idx" ON "requests" USING gin ("search_text" gin_trgm_ops) WHERE "requests"."search_text" IS NOT NULL;--> statement-breakpoint
-- Usage rollups (DESIGN 12), kept by statement-level triggers on requests: a row is counted
-- once, in the statement that makes it terminal; a terminal row whose counted values change
-- (a late record over TrackingLost) moves its count from the old values to the new. The same
-- statement, the same transaction: a rollup can never count a record that was not committed,
-- or miss one that was. Retention deletes rows and leaves rollups alone (no DELETE trigger).
-- src/responses/histogram.ts holds the same bucket formula, for reading the histograms.
CREATE FUNCTION volley_latency_bucket(ms double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN ms IS NULL OR ms < 0 OR ms = 'NaN'::float8 THEN NULL
    WHEN ms < 0.125 THEN 0
    ELSE least(103, floor(4 * ln(ms / 0.125) / ln(2))::integer + 1)
  END
$$;--> statement-breakpoint
CREATE FUNCTION volley_hist_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;--> statement-breakpoint
-- A histogram from bucket indexes and their weights (+1 counted, -1 a count moved away).
CREATE FUNCTION volley_hist_of(buckets integer[], weights integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(t.s, 0) ORDER BY g), '{}')
  FROM generate_series(0, (SELECT max(b) FROM unnest(buckets) AS u(b))) AS g
  LEFT JOIN (
    SELECT b, sum(w)::integer AS s FROM unnest(buckets, weights) AS u(b, w) WHERE b IS NOT NULL GROUP BY b
  ) AS t ON t.b = g
$$;--> statement-breakpoint
-- What /admin/usage counts a terminal row under: '' for a success, else an error class (the
-- OpenAI error type of an HTTP status, or volley's FailureReason type), or 'cancelled'.
CREATE FUNCTION volley_error_class(state text, status integer, error text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN state = 'canceled' THEN 'cancelled'
    WHEN status = 429 THEN 'rate_limit_error'
    WHEN status = 401 THEN 'authentication_error'
    WHEN status = 403 THEN 'permission_error'
    WHEN status = 404 THEN 'not_found_error'
    WHEN status >= 500 THEN 'server_error'
    WHEN status >= 400 THEN 'invalid_request_error'
    WHEN state = 'failed' THEN coalesce(substring(error FROM '"type"\s*:\s*"([A-Za-z_]{1,64})"'), 'unknown')
    ELSE ''
  END
$$;--> statement-breakpoint
CREATE TYPE volley_contribution AS (
  bucket_ts timestamptz, model text, user_id uuid, api_key_id uuid, service_tier text, endpoint text,
  error_class text, sign integer, input_tokens bigint, output_tokens bigint, cached_tokens bigint,
  reasoning_tokens bigint, latency_bucket integer, ttft_bucket integer, queue_bucket integer
);--> statement-breakpoint
CREATE FUNCTION volley_contribution_of(r requests, sign integer) RETURNS volley_contribution
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT ROW(
    coalesce(r.received_at, r.created_at), r.model, r.created_by,
    coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid), r.service_tier, r.endpoint,
    volley_error_class(r.state, r.response_status, r.error), sign,
    coalesce(r.prompt_tokens, 0), coalesce(r.completion_tokens, 0), coalesce(r.cached_tokens, 0),
    coalesce(r.reasoning_tokens, 0), volley_latency_bucket(r.duration_ms), volley_latency_bucket(r.ttft_ms),
    volley_latency_bucket(r.queue_delay_ms)
  )::volley_contribution
$$;--> statement-breakpoint
-- Adds contributions to both rollup families at every granularity, in primary-key order (two
-- statements locking the same rollup rows lock them in the same order: no deadlock). Days are
-- UTC days.
CREATE FUNCTION volley_rollup_apply(c volley_contribution[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  IF c IS NULL OR cardinality(c) = 0 THEN
    RETURN;
  END IF;
  INSERT INTO usage_rollups AS t (granularity, bucket_start, model, service_tier, endpoint, error_class, requests,
                                  input_tokens, output_tokens, cached_tokens, reasoning_tokens,
                                  latency_hist, ttft_hist, queue_hist)
  SELECT g.name, date_trunc(g.name, x.bucket_ts, 'UTC'), x.model, x.service_tier, x.endpoint, x.error_class,
         sum(x.sign), sum(x.sign * x.input_tokens), sum(x.sign * x.output_tokens), sum(x.sign * x.cached_tokens),
         sum(x.sign * x.reasoning_tokens), volley_hist_of(array_agg(x.latency_bucket), array_agg(x.sign)),
         volley_hist_of(array_agg(x.ttft_bucket), array_agg(x.sign)), volley_hist_of(array_agg(x.queue_bucket), array_agg(x.sign))
  FROM unnest(c) AS x CROSS JOIN (VALUES ('day'), ('hour'), ('minute')) AS g(name)
  GROUP BY 1, 2, 3, 4, 5, 6
  ORDER BY 1, 2, 3, 4, 5, 6
  ON CONFLICT (granularity, bucket_start, model, service_tier, endpoint, error_class) DO UPDATE SET
    requests = t.requests + excluded.requests,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cached_tokens = t.cached_tokens + excluded.cached_tokens,
    reasoning_tokens = t.reasoning_tokens + excluded.reasoning_tokens,
    latency_hist = volley_hist_add(t.latency_hist, excluded.latency_hist),
    ttft_hist = volley_hist_add(t.ttft_hist, excluded.ttft_hist),
    queue_hist = volley_hist_add(t.queue_hist, excluded.queue_hist);
  INSERT INTO usage_rollups_by_key AS t (granularity, bucket_start, model, user_id, api_key_id, service_tier, endpoint,
                                         error_class, requests, input_tokens, output_tokens, cached_tokens,
                                         reasoning_tokens, latency_hist, ttft_hist, queue_hist)
  SELECT g.name, date_trunc(g.name, x.bucket_ts, 'UTC'), x.model, x.user_id, x.api_key_id, x.service_tier, x.endpoint,
         x.error_class, sum(x.sign), sum(x.sign * x.input_tokens), sum(x.sign * x.output_tokens),
         sum(x.sign * x.cached_tokens), sum(x.sign * x.reasoning_tokens),
         volley_hist_of(array_agg(x.latency_bucket), array_agg(x.sign)),
         volley_hist_of(array_agg(x.ttft_bucket), array_agg(x.sign)), volley_hist_of(array_agg(x.queue_bucket), array_agg(x.sign))
  FROM unnest(c) AS x CROSS JOIN (VALUES ('day'), ('hour'), ('minute')) AS g(name)
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
  ORDER BY 1, 2, 3, 4, 5, 6, 7, 8
  ON CONFLICT (granularity, bucket_start, model, user_id, api_key_id, service_tier, endpoint, error_class) DO UPDATE SET
    requests = t.requests + excluded.requests,
    input_tokens = t.input_tokens + excluded.input_tokens,
    output_tokens = t.output_tokens + excluded.output_tokens,
    cached_tokens = t.cached_tokens + excluded.cached_tokens,
    reasoning_tokens = t.reasoning_tokens + excluded.reasoning_tokens,
    latency_hist = volley_hist_add(t.latency_hist, excluded.latency_hist),
    ttft_hist = volley_hist_add(t.ttft_hist, excluded.ttft_hist),
    queue_hist = volley_hist_add(t.queue_hist, excluded.queue_hist);
END
$$;--> statement-breakpoint
CREATE FUNCTION volley_rollup_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM volley_rollup_apply(ARRAY(
    SELECT volley_contribution_of(n, 1) FROM new_rows AS n WHERE n.state IN ('completed', 'failed', 'canceled')
  ));
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION volley_rollup_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  -- Most updates (claims, touches, retries) involve no terminal row and cost one scan of the
  -- transition tables; each counted row's contribution is computed once. (The flags, not
  -- `IS NULL` of the contributions: a row value with any null field is neither null nor not.)
  PERFORM volley_rollup_apply(ARRAY(
    WITH pairs AS (
      SELECT o.state IN ('completed', 'failed', 'canceled') AS was_counted, n.state IN ('completed', 'failed', 'canceled') AS now_counted,
             volley_contribution_of(o, 1) AS before, volley_contribution_of(o, -1) AS undo, volley_contribution_of(n, 1) AS after
      FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
      WHERE o.state IN ('completed', 'failed', 'canceled') OR n.state IN ('completed', 'failed', 'canceled')
    )
    SELECT after FROM pairs WHERE now_counted AND (NOT was_counted OR after IS DISTINCT FROM before)
    UNION ALL
    SELECT undo FROM pairs WHERE was_counted AND (NOT now_counted OR after IS DISTINCT FROM before)
  ));
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER requests_rollup_insert AFTER INSERT ON requests
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION volley_rollup_inserted();--> statement-breakpoint
CREATE TRIGGER requests_rollup_update AFTER UPDATE ON requests
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION volley_rollup_updated();
