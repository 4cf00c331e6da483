-- Trigram search over requests.search_text (q of /admin/requests). A trusted extension: a
-- database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;--> statement-breakpoint
CREATE TABLE "usage_pending" (
	"bucket_ts" timestamp with time zone NOT NULL,
	"model" text NOT NULL,
	"user_id" uuid NOT NULL,
	"api_key_id" uuid NOT NULL,
	"service_tier" text NOT NULL,
	"endpoint" text NOT NULL,
	"error_class" text NOT NULL,
	"sign" smallint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_tokens" bigint NOT NULL,
	"reasoning_tokens" bigint NOT NULL,
	"latency_bucket" smallint,
	"ttft_bucket" smallint,
	"queue_bucket" smallint
);
--> statement-breakpoint
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
-- Usage rollups (DESIGN 12). Statement-level triggers on requests append each record's
-- contribution to usage_pending in the statement that makes it terminal, so it is counted
-- exactly when its record commits; a terminal row whose counted values change (a late record
-- over TrackingLost) also appends the undoing of its old contribution. The worker folds
-- usage_pending into usage_rollups and usage_rollups_by_key (src/store/usage-fold.ts),
-- deleting what it folded in the same transaction. The records' own writes therefore never
-- wait for a rollup row another transaction holds, and pay for one narrow append each.
-- src/responses/histogram.ts holds the same bucket formula, for reading the histograms.
CREATE FUNCTION volley_latency_bucket(ms double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN ms IS NULL OR ms < 0 OR ms = 'NaN'::float8 THEN NULL
    WHEN ms < 0.125 THEN 0
    ELSE least(103, floor(4 * ln(ms / 0.125) / ln(2))::integer + 1)
  END::smallint
$$;--> statement-breakpoint
CREATE FUNCTION volley_hist_add(a integer[], b integer[]) RETURNS integer[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;--> statement-breakpoint
-- A histogram from bucket indexes and their weights (+1 counted, -1 a count moved away).
CREATE FUNCTION volley_hist_of(buckets smallint[], weights smallint[]) RETURNS integer[]
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
-- A terminal row's contribution (sign +1), or the undoing of one (-1).
CREATE FUNCTION volley_pending_of(r requests, sign integer) RETURNS usage_pending
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(r.received_at, r.created_at), r.model, r.created_by,
         coalesce(r.api_key_id, '00000000-0000-0000-0000-000000000000'::uuid), r.service_tier, r.endpoint,
         volley_error_class(r.state, r.response_status, r.error), sign::smallint,
         sign * coalesce(r.prompt_tokens, 0)::bigint, sign * coalesce(r.completion_tokens, 0)::bigint,
         sign * coalesce(r.cached_tokens, 0)::bigint, sign * coalesce(r.reasoning_tokens, 0)::bigint,
         volley_latency_bucket(r.duration_ms), volley_latency_bucket(r.ttft_ms), volley_latency_bucket(r.queue_delay_ms)
$$;--> statement-breakpoint
CREATE FUNCTION volley_usage_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_pending
  SELECT p.* FROM new_rows AS n CROSS JOIN LATERAL volley_pending_of(n, 1) AS p
  WHERE n.state IN ('completed', 'failed', 'canceled');
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Most updates (claims, touches, retries) involve no terminal row: the join finds nothing to
-- append. A terminal row is counted when it becomes terminal, and moved when what it counts
-- changes; a change of anything else (a delete mark) moves nothing.
CREATE FUNCTION volley_usage_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_pending
  SELECT p.*
  FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
  CROSS JOIN LATERAL (
    SELECT a.* FROM volley_pending_of(n, 1) AS a WHERE n.state IN ('completed', 'failed', 'canceled')
    UNION ALL
    SELECT b.* FROM volley_pending_of(o, -1) AS b WHERE o.state IN ('completed', 'failed', 'canceled')
  ) AS p
  WHERE (o.state IN ('completed', 'failed', 'canceled') OR n.state IN ('completed', 'failed', 'canceled')) AND (o.state, o.response_status, o.error, o.model, o.created_by, o.api_key_id, o.service_tier, o.endpoint, o.received_at, o.created_at, o.prompt_tokens, o.completion_tokens, o.cached_tokens, o.reasoning_tokens, o.duration_ms, o.ttft_ms, o.queue_delay_ms) IS DISTINCT FROM (n.state, n.response_status, n.error, n.model, n.created_by, n.api_key_id, n.service_tier, n.endpoint, n.received_at, n.created_at, n.prompt_tokens, n.completion_tokens, n.cached_tokens, n.reasoning_tokens, n.duration_ms, n.ttft_ms, n.queue_delay_ms);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER requests_usage_insert AFTER INSERT ON requests
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION volley_usage_inserted();--> statement-breakpoint
CREATE TRIGGER requests_usage_update AFTER UPDATE ON requests
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION volley_usage_updated();
