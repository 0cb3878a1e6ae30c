-- Locks running jobs whose lease expired $1 seconds ago (their worker is gone), oldest
-- first, skipping rows another rescuer holds and the jobs $3 the rescuing process holds
-- itself (it is alive, so they are not lost, only waiting for the database). A row with
-- the rescuer's own worker id that its process does not hold is rescued like any other.
SELECT id, job_type, queue, attempt, max_attempts, locked_by,
       claimed_at AS "claimed_at: StoredTime", trace_context
FROM herald.jobs
WHERE state = 'running'
  AND heartbeat_at < now() - make_interval(secs => $1)
  AND NOT (id = ANY($3))
ORDER BY heartbeat_at
LIMIT $2
FOR UPDATE SKIP LOCKED
