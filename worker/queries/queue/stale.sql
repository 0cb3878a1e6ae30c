-- Locks running jobs whose lease expired $1 seconds ago (their worker is gone), oldest
-- first, skipping rows another rescuer holds.
SELECT id, job_type, queue, attempt, max_attempts, locked_by, claimed_at, trace_context
FROM herald.jobs
WHERE state = 'running'
  AND heartbeat_at < now() - make_interval(secs => $1)
ORDER BY heartbeat_at
LIMIT $2
FOR UPDATE SKIP LOCKED
