-- Locks running jobs whose lease expired $1 seconds ago (their worker is gone), oldest
-- first, skipping rows another rescuer holds and the jobs $3 the rescuing process holds
-- itself (it is alive, so they are not lost, only waiting for the database). A row with
-- the rescuer's own worker id that its process does not hold is rescued like any other.
-- Each comes with the operator's cancel request for its attempt, if any: that job ends
-- `cancelled`, never rerun.
SELECT j.id, j.job_type, j.queue, j.attempt, j.max_attempts, j.locked_by,
       j.claimed_at AS "claimed_at: StoredTime", j.trace_context,
       c.actor AS "cancel_actor?", c.reason AS cancel_reason
FROM herald.jobs AS j
LEFT JOIN herald.cancel_requests AS c ON c.job_id = j.id AND c.attempt = j.attempt
WHERE j.state = 'running'
  AND j.heartbeat_at < now() - make_interval(secs => $1)
  AND NOT (j.id = ANY($3))
ORDER BY j.heartbeat_at
LIMIT $2
FOR UPDATE OF j SKIP LOCKED
