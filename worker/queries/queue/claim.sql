-- Claims up to $4 runnable jobs of queue $2 and types $3 for worker $1, highest priority
-- first. `= ANY(ARRAY(...))` keeps the index plan under generic prepared plans.
UPDATE herald.jobs AS j
SET state = 'running',
    attempt = j.attempt + 1,
    locked_by = $1,
    claimed_at = now(),
    heartbeat_at = now()
WHERE j.id = ANY(ARRAY(
    SELECT id
    FROM herald.jobs
    WHERE state IN ('pending', 'retrying')
      AND queue = $2
      AND run_at <= now()
      AND job_type = ANY($3)
    ORDER BY priority DESC, run_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
))
RETURNING j.id, j.job_type, j.queue, j.payload::text AS payload, j.priority, j.attempt, j.max_attempts,
          j.run_at, j.trace_context
