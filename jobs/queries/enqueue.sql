-- Inserts one job, or returns the id of the live job with the same idempotency key.
-- $1 job_type, $2 queue, $3 payload, $4 priority, $5 run_at (NULL = now),
-- $6 max_attempts (also kept as enqueued_max_attempts, the budget a replay grants again),
-- $7 idempotency_key (NULL = none), $8 trace_context (W3C traceparent), $9 flow_key
-- (NULL = none; a webhook's is derived by the table's trigger)
WITH inserted AS (
    INSERT INTO herald.jobs
        (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
         idempotency_key, trace_context, flow_key)
    VALUES ($1, $2, $3, $4, coalesce($5, now()), $6, $6, $7, $8, $9)
    ON CONFLICT (job_type, idempotency_key)
        WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running', 'retrying')
        DO NOTHING
    RETURNING id
)
SELECT id AS "id!", true AS "created!" FROM inserted
UNION ALL
SELECT id, false AS created
FROM herald.jobs
WHERE $7::text IS NOT NULL
  AND job_type = $1
  AND idempotency_key = $7
  AND state IN ('pending', 'running', 'retrying')
  AND NOT EXISTS (SELECT 1 FROM inserted)
LIMIT 1
