-- Progress of the batches not yet complete (fleet-wide, for the herald_workflow_* gauges):
-- how many, and their members succeeded, dead, cancelled and not yet settled. Served by
-- batches_open_idx; completed batches are never read.
SELECT count(*) AS "open!",
       coalesce(sum(total), 0)::bigint AS "members!",
       coalesce(sum(succeeded), 0)::bigint AS "succeeded!",
       coalesce(sum(dead), 0)::bigint AS "dead!",
       coalesce(sum(cancelled), 0)::bigint AS "cancelled!"
FROM herald.batches
WHERE completed_at IS NULL
