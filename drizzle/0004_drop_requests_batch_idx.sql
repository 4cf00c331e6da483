-- requests_batch_idx served no query: batches are never deleted (so the foreign key never
-- looks up requests by batch) and every read joins from a request to its batch. It cost an
-- index entry on every insert and every state change of a request. See the schema comment.
DROP INDEX "requests_batch_idx";