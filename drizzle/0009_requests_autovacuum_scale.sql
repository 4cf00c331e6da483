-- Migration 0002 vacuumed `requests` after a fixed 5,000 changes, unthrottled. A vacuum that
-- finds dead index entries on more than 2 % of the table's pages reads every index of the
-- table in full (ten of them since 0007, the trigram index the largest), so its cost grows
-- with the table while its interval did not: with 2,000,000 rows each pass touched 170,000-
-- 205,000 pages and took two seconds of CPU, every 5,000 requests (each leaves one dead row
-- version), and a tracked call's p99 at 500 req/s was 2.4 times that on an empty table
-- (bench P6, bench/README.md).
--
-- Vacuum after 1 % of the table has changed as well (5,000 + 1 % of the rows), so the index
-- work per request stays constant as the table grows, and throttled as PostgreSQL's default
-- is, so a pass shares the machine with the requests. The partial indexes on live rows that
-- 0002 was written for stay small: index scans mark the dead entries they meet, and an
-- insert removes the marked entries of a full page before splitting it.
ALTER TABLE "requests" SET (
  autovacuum_vacuum_scale_factor = 0.01,
  autovacuum_vacuum_insert_scale_factor = 0.01
);--> statement-breakpoint
ALTER TABLE "requests" RESET (autovacuum_vacuum_cost_delay);
