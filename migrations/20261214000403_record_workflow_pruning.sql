-- Retention of the workflow tables (issue 16): the maintenance leader removes a batch
-- (its herald.batch_waiters rows go with it, ON DELETE CASCADE) and its
-- herald.workflow_events records once no job of the batch is left, neither a member nor
-- a callback (worker/queries/maintenance/prune_workflows.sql, a step of every run after
-- the jobs). Each run records how many it removed.
ALTER TABLE herald.maintenance_runs
    ADD COLUMN batches_removed bigint NOT NULL DEFAULT 0,
    ADD COLUMN workflow_events_removed bigint NOT NULL DEFAULT 0;
-- The events of a batch, deleted with it.
CREATE INDEX workflow_events_batch_idx ON herald.workflow_events (batch_id);
