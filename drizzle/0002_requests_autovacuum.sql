-- `requests` churns like a queue: every row is inserted, then updated once or twice (claim,
-- terminal write), and each update leaves a dead version behind in the partial indexes on
-- live rows (requests_model_claimed_idx, requests_live_state_started_idx), which the
-- processor's admission count and the sweeper scan. With PostgreSQL's defaults (vacuum at
-- 20 % dead rows) those scans grow with the table, so a large table would wait ever longer
-- for its vacuum. Vacuum it after a fixed number of changes instead, and without throttling.
ALTER TABLE "requests" SET (
  autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 5000,
  autovacuum_vacuum_insert_scale_factor = 0,
  autovacuum_vacuum_insert_threshold = 20000,
  autovacuum_analyze_scale_factor = 0.02,
  autovacuum_vacuum_cost_delay = 0
);
