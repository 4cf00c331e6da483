-- The request processor's batched claim (src/store/request-attempts.ts, claimRequestAttempts).
--
-- The per-model admission count: rows of a model that hold a live claim.
CREATE INDEX "requests_model_claimed_idx" ON "requests" USING btree ("model", "claimed_at")
  WHERE "state" = 'processing' AND "claimed_at" IS NOT NULL;
--> statement-breakpoint
-- Claims a fetched batch of process-request attempts in one round trip. Per input row
-- (request id, attempt, pg-boss job id and retry count) it returns one row, in input order,
-- with `outcome` one of claimed (and the claimed row as JSON), missing, already-terminal,
-- at-capacity, not-claimable (with the row's state and retry_attempt).
--
-- A row is claimable on exactly the conditions of the single-row claim it replaces: the row's
-- current attempt, the job still `active` at the retry count the run fetched it with (pg-boss's
-- own fence on complete), and either `pending` or `processing` under a claim older than the
-- job's (re)start (a takeover after a crashed or stalled run).
--
-- Admission (unless p_default_limit is NULL): a model's limit is its entry in
-- p_limit_models/p_limit_values, else p_default_limit. The batch's models are locked with
-- transaction-scoped advisory locks, in key order so two batches cannot deadlock, which
-- serializes every claimer of a model across all processes. The count and the claim run in
-- the NEXT statement. This function must stay VOLATILE (and run at READ COMMITTED): then
-- each statement in it takes a new snapshot, so the count sees every claim committed before
-- the lock was granted. Lock, count and claim in one statement would count in a snapshot
-- taken before the wait, and over-admit. A model with `n` live claims (rows of the batch
-- being taken over do not count: their claims are dead) admits at most `limit - n` claimable
-- rows of the batch, in input order; the claimable rows left over are `at-capacity`. The lock
-- key is the one the single-row claim used, so old and new processors serialize together.
--
-- The job fence reads pg-boss's default schema, `pgboss` (where startBoss installs it).
CREATE FUNCTION volley_claim_request_attempts(
  p_ids uuid[],
  p_attempts integer[],
  p_job_ids uuid[],
  p_retry_counts integer[],
  p_default_limit integer,
  p_limit_models text[],
  p_limit_values integer[],
  p_claim_ttl_secs double precision,
  p_queue text
) RETURNS TABLE (
  id uuid,
  outcome text,
  state text,
  retry_attempt integer,
  in_flight integer,
  claim_token text,
  claimed jsonb
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  k bigint;
BEGIN
  IF p_default_limit IS NOT NULL THEN
    -- A request's model never changes, so reading it before the lock is safe.
    FOR k IN
      SELECT DISTINCT hashtextextended('volley:model-slots:' || r.model, 0) FROM requests r WHERE r.id = ANY(p_ids) ORDER BY 1
    LOOP
      PERFORM pg_advisory_xact_lock(k);
    END LOOP;
  END IF;

  -- A new statement, so a new snapshot (see above).
  RETURN QUERY
  WITH input AS (
    SELECT t.id, t.attempt, t.job_id, t.retry_count, t.ord, r.id AS found, r.model, r.state, r.retry_attempt, r.claimed_at,
      CASE WHEN p_default_limit IS NOT NULL THEN coalesce(
        (SELECT o.v FROM unnest(p_limit_models, p_limit_values) AS o(m, v) WHERE o.m = r.model LIMIT 1), p_default_limit)
      END AS lim
    FROM unnest(p_ids, p_attempts, p_job_ids, p_retry_counts) WITH ORDINALITY AS t(id, attempt, job_id, retry_count, ord)
    LEFT JOIN requests r ON r.id = t.id
  ),
  candidate AS (
    -- The job by its primary key (one lookup per row, whatever the planner guesses).
    SELECT i.id, i.attempt, i.model, i.lim, i.ord, j.started_on
    FROM input i
    CROSS JOIN LATERAL (
      SELECT j.state, j.retry_count, j.started_on FROM pgboss.job j WHERE j.name = p_queue AND j.id = i.job_id
    ) j
    WHERE i.retry_attempt = i.attempt
      AND j.state = 'active' AND j.retry_count = i.retry_count
      AND (i.state = 'pending' OR (i.state = 'processing' AND i.claimed_at IS NOT NULL AND j.started_on > i.claimed_at))
  ),
  live AS (
    SELECT m.model,
      (SELECT count(*)::int FROM requests r
       WHERE r.model = m.model AND r.state = 'processing' AND r.claimed_at IS NOT NULL
         AND r.claimed_at > now() - make_interval(secs => p_claim_ttl_secs)
         AND r.id NOT IN (SELECT c.id FROM candidate c)) AS n
    FROM (SELECT DISTINCT i.model FROM input i WHERE i.lim IS NOT NULL) m
  ),
  admitted AS (
    SELECT c.ord
    FROM (SELECT c.*, row_number() OVER (PARTITION BY c.model ORDER BY c.ord) AS rn FROM candidate c) c
    LEFT JOIN live l ON l.model = c.model
    WHERE c.lim IS NULL OR c.rn <= c.lim - l.n
  ),
  changed AS (
    -- The row's conditions again, on the row as it is once locked (a cancel may have won).
    -- The job's need no second look: this statement sees one version of it throughout.
    UPDATE requests r
    SET state = 'processing', claimed_at = clock_timestamp(), started_at = clock_timestamp(), updated_at = now()
    FROM candidate c
    WHERE r.id = c.id AND c.ord IN (SELECT a.ord FROM admitted a)
      AND r.retry_attempt = c.attempt
      AND (r.state = 'pending' OR (r.state = 'processing' AND r.claimed_at IS NOT NULL AND c.started_on > r.claimed_at))
    -- By input position: two runs of one job in one batch both match the row, one claims it.
    RETURNING c.ord, r.claimed_at::text AS claim_token, to_jsonb(r) AS claimed
  )
  SELECT i.id,
    CASE
      WHEN ch.ord IS NOT NULL THEN 'claimed'
      WHEN i.found IS NULL THEN 'missing'
      WHEN i.state IN ('completed', 'failed', 'canceled') THEN 'already-terminal'
      WHEN i.ord IN (SELECT c.ord FROM candidate c) AND i.ord NOT IN (SELECT a.ord FROM admitted a) THEN 'at-capacity'
      ELSE 'not-claimable'
    END,
    i.state, i.retry_attempt, l.n, ch.claim_token, ch.claimed
  FROM input i
  LEFT JOIN changed ch ON ch.ord = i.ord
  LEFT JOIN live l ON l.model = i.model
  ORDER BY i.ord;
END
$$;
