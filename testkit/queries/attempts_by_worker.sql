-- The audit rows worker $1 wrote, in the order they were written.
SELECT job_id, job_type, queue, attempt, outcome, error_code, error_class, message,
       next_run_at
FROM herald.attempts
WHERE worker_id = $1
ORDER BY id
