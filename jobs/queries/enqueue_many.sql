-- Inserts a batch of jobs in one statement; returns one row per input row, in input
-- order: the new job's id, or the live job's id when an idempotency key matched (an
-- earlier row of the same batch counts). `id` is NULL only when a concurrent enqueue
-- with the same key committed after this statement's snapshot: the caller retries those.
-- Ids are drawn from the identity sequence up front so each inserted row can be matched
-- to its input row.
-- $1 job_type[], $2 queue[], $3 payload[], $4 priority[], $5 run_at[] (NULL = now),
-- $6 max_attempts[] (also kept as enqueued_max_attempts), $7 idempotency_key[] (NULL = none), $8 trace_context[],
-- $9 flow_key[] (NULL = none; a webhook's is derived by the table's trigger)
WITH input AS (
    SELECT t.*, nextval(pg_get_serial_sequence('herald.jobs', 'id')) AS new_id
    FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::timestamptz[],
                $6::integer[], $7::text[], $8::text[], $9::text[])
         WITH ORDINALITY AS t(job_type, queue, payload, priority, run_at, max_attempts,
                              idempotency_key, trace_context, flow_key, ord)
),
inserted AS (
    INSERT INTO herald.jobs
        (id, job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
         idempotency_key, trace_context, flow_key)
    OVERRIDING SYSTEM VALUE
    SELECT new_id, job_type, queue, payload, priority, coalesce(run_at, now()), max_attempts,
           max_attempts, idempotency_key, trace_context, flow_key
    FROM input
    ORDER BY ord
    ON CONFLICT (job_type, idempotency_key)
        WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running', 'retrying')
        DO NOTHING
    RETURNING id, job_type, idempotency_key
)
SELECT coalesce(ins.id, twin.id, live.id) AS "id?", ins.id IS NOT NULL AS "created!"
FROM input AS i
LEFT JOIN inserted AS ins ON ins.id = i.new_id
LEFT JOIN inserted AS twin
       ON ins.id IS NULL
      AND i.idempotency_key IS NOT NULL
      AND twin.job_type = i.job_type
      AND twin.idempotency_key = i.idempotency_key
LEFT JOIN LATERAL (
    SELECT j.id
    FROM herald.jobs AS j
    WHERE ins.id IS NULL
      AND twin.id IS NULL
      AND i.idempotency_key IS NOT NULL
      AND j.job_type = i.job_type
      AND j.idempotency_key = i.idempotency_key
      AND j.state IN ('pending', 'running', 'retrying')
    LIMIT 1
) AS live ON true
ORDER BY i.ord
