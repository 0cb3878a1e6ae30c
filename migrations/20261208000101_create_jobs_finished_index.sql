-- no-transaction
-- Serves pruning (worker/queries/maintenance/prune_jobs.sql): the finished jobs of one
-- state, oldest first, so each batch reads only the rows it deletes instead of every
-- finished job. Partial: pending, running and retrying rows are never in it, so claims
-- and heartbeats do not maintain it; a job enters it once, when it finishes (that update
-- changes `state`, already indexed, so it was never a HOT update).
-- CONCURRENTLY (hence no transaction): on a deployment with millions of finished jobs,
-- building it does not block enqueues, claims or finishes. If a build is interrupted it
-- leaves an INVALID index; drop it and run `herald migrate` again.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_finished_idx
    ON herald.jobs (state, finished_at, id)
    WHERE state IN ('succeeded', 'dead', 'cancelled');
