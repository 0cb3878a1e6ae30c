-- Job $1's audit trail (kept after the job is purged), oldest first.
SELECT attempt, worker_id, started_at AS "started_at: StoredTime",
       finished_at AS "finished_at: StoredTime", duration_ms, outcome, job_state,
       error_code, error_class, message, next_run_at AS "next_run_at: StoredTime", trace_id,
       error_chain
FROM herald.attempts
WHERE job_id = $1
ORDER BY attempt
