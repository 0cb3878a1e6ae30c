-- Inserts a workflow's jobs in one statement; returns their ids in input order (drawn from
-- the identity sequence up front, so each id matches its input row). No idempotency keys:
-- each is a new job of its workflow.
-- $1 job_type[], $2 queue[], $3 payload[], $4 priority[], $5 run_at[] (NULL = now),
-- $6 max_attempts[], $7 trace_context[], $8 batch_id[] (the batch each is a member of,
-- or NULL), $9 state[] ('pending', or 'waiting' for a callback)
WITH input AS (
    SELECT t.*, nextval(pg_get_serial_sequence('herald.jobs', 'id')) AS new_id
    FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::timestamptz[],
                $6::integer[], $7::text[], $8::bigint[], $9::text[])
         WITH ORDINALITY AS t(job_type, queue, payload, priority, run_at, max_attempts,
                              trace_context, batch_id, state, ord)
),
inserted AS (
    INSERT INTO herald.jobs
        (id, job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
         trace_context, batch_id, state)
    OVERRIDING SYSTEM VALUE
    SELECT new_id, job_type, queue, payload, priority, coalesce(run_at, now()), max_attempts,
           max_attempts, trace_context, batch_id, state
    FROM input
    ORDER BY ord
    RETURNING id
)
SELECT i.new_id AS "id!"
FROM input AS i
WHERE i.new_id IN (SELECT id FROM inserted)
ORDER BY i.ord
