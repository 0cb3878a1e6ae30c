-- Locks running jobs still held by worker id $1 when a process with that id starts:
-- the previous process with the same id died holding them. Each comes with the
-- operator's cancel request for its attempt, if any: that job ends `cancelled`.
SELECT j.id, j.job_type, j.queue, j.attempt, j.max_attempts, j.locked_by,
       j.claimed_at AS "claimed_at: StoredTime", j.trace_context,
       c.actor AS "cancel_actor?", c.reason AS cancel_reason
FROM herald.jobs AS j
LEFT JOIN herald.cancel_requests AS c ON c.job_id = j.id AND c.attempt = j.attempt
WHERE j.state = 'running'
  AND j.locked_by = $1
ORDER BY j.id
LIMIT $2
FOR UPDATE OF j SKIP LOCKED
