-- The newest completed pruning run (herald.maintenance_runs, newest first through
-- maintenance_runs_started_at_idx): when it finished, how long ago, and the rows it
-- removed per table; no row when no run has completed yet. A completed run always has
-- its finish time.
SELECT finished_at AS "finished_at!: StoredTime",
       extract(epoch FROM clock_timestamp() - finished_at)::double precision AS age_secs,
       (jobs_succeeded + jobs_dead + jobs_cancelled) AS "jobs!",
       attempts_removed AS attempts,
       operator_actions_removed AS operator_actions,
       runs_removed AS maintenance_runs
FROM herald.maintenance_runs
WHERE outcome = 'completed'
ORDER BY started_at DESC, id DESC
LIMIT 1
