-- The newest $1 pruning runs, newest first, with their counts and the policy they applied.
SELECT id, worker_id, started_at AS "started_at: StoredTime",
       finished_at AS "finished_at: StoredTime", outcome, error, policy, batches,
       jobs_succeeded, jobs_dead, jobs_cancelled, attempts_removed,
       attempt_partitions_dropped, attempt_partitions_compacted,
       operator_actions_removed, runs_removed,
       oldest_job_id, oldest_finished_at AS "oldest_finished_at: StoredTime",
       newest_job_id, newest_finished_at AS "newest_finished_at: StoredTime"
FROM herald.maintenance_runs
ORDER BY started_at DESC, id DESC
LIMIT $1
