-- no-transaction
-- Replaces jobs_state_type_idx (state, job_type) over EVERY job with the same columns
-- over the jobs that need work or attention: what its readers ask for
-- (telemetry/queue_depth.sql, operator/queues.sql: pending, running, retrying, dead).
-- Why: a job's finishing UPDATE changes `state`, so it is never HOT and adds an entry to
-- every index whose predicate the new row satisfies. Over all states, this index took an
-- entry for every succeeded job (and kept it until pruning); partial, it takes none, so
-- the finish pays for jobs_finished_idx (which pruning reads) instead of for both, and
-- the index stays the size of the live queue however much history is kept.
-- CONCURRENTLY (hence no transaction, and one statement per file): enqueues, claims and
-- finishes go on while it builds. The old index is dropped by the next migration.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_live_state_type_idx
    ON herald.jobs (state, job_type)
    WHERE state IN ('pending', 'running', 'retrying', 'dead');
