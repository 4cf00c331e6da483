-- volley_claim_request_attempts (see 0001_processor_claim.sql for what it does and why it
-- is shaped so), with its row lookups pinned to the primary key: the input rows through a
-- LATERAL lookup per id, the claim's UPDATE through `id = ANY(ARRAY(...))` and a state test
-- that cannot select a partial index. Before, the UPDATE's plan scanned all pending and
-- processing rows for every batch, so each claim cost more the longer the backlog
-- (measured: 5-10 ms per batch of 16 with 3,000 pending; P4 fell from ~1,000 to ~650/s).
CREATE OR REPLACE FUNCTION volley_claim_request_attempts(
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
    LEFT JOIN LATERAL (SELECT r.* FROM requests r WHERE r.id = t.id) r ON true
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
    -- By primary key. Written plainly, the state test below proves the predicate of the
    -- partial index requests_live_state_started_idx, whose row estimate (from the last
    -- ANALYZE) is often tiny, and the planner scanned every live row through it for each
    -- batch: a cost that grew with the backlog (5-10 ms a claim at 3,000 pending rows).
    -- `state COLLATE "C"` compares the same (equality is bytewise either way) but proves no
    -- index predicate, which leaves the primary key as the way in.
    WHERE r.id = ANY (ARRAY(SELECT c2.id FROM candidate c2))
      AND r.id = c.id AND c.ord IN (SELECT a.ord FROM admitted a)
      AND r.retry_attempt = c.attempt
      AND ((r.state COLLATE "C") = 'pending'
        OR ((r.state COLLATE "C") = 'processing' AND r.claimed_at IS NOT NULL AND c.started_on > r.claimed_at))
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
