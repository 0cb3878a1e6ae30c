-- no-transaction
-- Waiting jobs (workflow callbacks and chain steps not yet released) by queue: what
-- `herald queues` counts in its WAITING column (herald/queries/operator/queues.sql).
-- jobs_live_state_type_idx covers only pending, running, retrying and dead, so without
-- this index that count would read every row of history. Partial: a job enqueued
-- `pending` (the common case) and every finished job add no entry to it.
-- CONCURRENTLY (hence no transaction, one statement): writes go on while it builds.
CREATE INDEX CONCURRENTLY IF NOT EXISTS jobs_waiting_queue_idx
    ON herald.jobs (queue)
    WHERE state = 'waiting';
