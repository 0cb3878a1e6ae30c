-- One job's audit trail, oldest attempt first.
SELECT attempt, outcome, error_code, error_class, message, duration_ms,
       (extract(epoch FROM next_run_at - finished_at) * 1000)::bigint AS retry_in_ms
FROM herald.attempts
WHERE job_id = $1
ORDER BY attempt
