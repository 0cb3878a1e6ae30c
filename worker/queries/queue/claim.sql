-- Claims up to $4 runnable jobs of queue $2 and types $3 for worker $1, highest priority
-- first. `= ANY(ARRAY(...))` keeps the index plan under generic prepared plans. The
-- attempt counter saturates at integer's maximum: a row stored with that count (written
-- around enqueue) runs as that attempt instead of failing the whole batch's claim. Rows are
-- returned whatever their `run_at` holds ('-infinity' included): the worker decodes it
-- without failing and fails that job alone with VALIDATION_ERROR.
-- A paused queue (a row in herald.queue_pauses) yields nothing: the probe does not depend
-- on the job row, so PostgreSQL runs it once per statement as a one-time filter (one miss
-- on the table's primary key when the queue is not paused) and scans no job when it is.
-- The statement's snapshot decides: a claim whose snapshot is taken after a pause commits
-- claims nothing.
UPDATE herald.jobs AS j
SET state = 'running',
    attempt = least(j.attempt, 2147483646) + 1,
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
      AND NOT EXISTS (SELECT 1 FROM herald.queue_pauses AS p WHERE p.queue = $2)
    ORDER BY priority DESC, run_at, id
    LIMIT $4
    FOR UPDATE SKIP LOCKED
))
RETURNING j.id, j.job_type, j.queue, j.payload::text AS "payload!", j.priority, j.attempt, j.max_attempts,
          j.run_at AS "run_at: StoredTime", j.trace_context
