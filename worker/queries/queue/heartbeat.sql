-- Renews the lease on the jobs $2 that worker $1's process holds (claimed and not yet
-- recorded). Only those: a row that merely carries this worker id is run by nobody, so
-- its lease must run out and rescue must take it. Returns the renewed jobs an operator
-- asked to cancel (`herald cancel`), with the attempt running: the worker signals their
-- handlers, so a missed cancel notification costs one heartbeat interval at most.
WITH renewed AS (
    UPDATE herald.jobs
    SET heartbeat_at = now()
    WHERE id = ANY($2)
      AND locked_by = $1
      AND state = 'running'
    RETURNING id, attempt, cancel_requested_at
)
SELECT id AS "job_id!", attempt AS "attempt!"
FROM renewed
WHERE cancel_requested_at IS NOT NULL
