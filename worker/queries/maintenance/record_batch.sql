-- Adds one committed batch to run $1, in the batch's own transaction: jobs removed by
-- state ($2 succeeded, $3 dead, $4 cancelled), audit rows $5, operator actions $6, run
-- records $7, and the batch's oldest ($8 id, $9 finished_at) and newest ($10, $11)
-- removed job (NULLs when it removed none); workflow rows: batches $12 and their
-- workflow records $13; console audit rows $14.
UPDATE herald.maintenance_runs
SET updated_at = clock_timestamp(),
    batches = batches + 1,
    jobs_succeeded = jobs_succeeded + $2,
    jobs_dead = jobs_dead + $3,
    jobs_cancelled = jobs_cancelled + $4,
    attempts_removed = attempts_removed + $5,
    operator_actions_removed = operator_actions_removed + $6,
    runs_removed = runs_removed + $7,
    batches_removed = batches_removed + $12,
    workflow_events_removed = workflow_events_removed + $13,
    console_events_removed = console_events_removed + $14,
    oldest_job_id = CASE WHEN $9::timestamptz < oldest_finished_at OR oldest_finished_at IS NULL
                         THEN coalesce($8, oldest_job_id) ELSE oldest_job_id END,
    oldest_finished_at = CASE WHEN $9::timestamptz < oldest_finished_at OR oldest_finished_at IS NULL
                              THEN coalesce($9, oldest_finished_at) ELSE oldest_finished_at END,
    newest_job_id = CASE WHEN $11::timestamptz > newest_finished_at OR newest_finished_at IS NULL
                         THEN coalesce($10, newest_job_id) ELSE newest_job_id END,
    newest_finished_at = CASE WHEN $11::timestamptz > newest_finished_at OR newest_finished_at IS NULL
                              THEN coalesce($11, newest_finished_at) ELSE newest_finished_at END
WHERE id = $1
