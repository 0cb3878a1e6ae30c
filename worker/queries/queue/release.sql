-- Gives back jobs worker $2 claimed but never started, without charging an attempt.
UPDATE herald.jobs
SET state = CASE WHEN attempt > 1 THEN 'retrying' ELSE 'pending' END,
    attempt = attempt - 1,
    locked_by = NULL,
    claimed_at = NULL,
    heartbeat_at = NULL
WHERE id = ANY($1)
  AND locked_by = $2
  AND state = 'running'
