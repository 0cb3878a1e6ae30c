-- no-transaction
-- The full (state, job_type) index, replaced by jobs_live_state_type_idx (previous
-- migration). CONCURRENTLY: waits for queries using it instead of blocking the table.
DROP INDEX CONCURRENTLY IF EXISTS herald.jobs_state_type_idx;
