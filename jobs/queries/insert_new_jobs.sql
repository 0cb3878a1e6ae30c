-- Inserts jobs none of which carries an idempotency key: the common `enqueue_many` batch
-- and a workflow's members and callbacks. Without keys nothing can conflict, so there is
-- no ON CONFLICT, no CTE and no join back to the input (the keyed statement,
-- enqueue_many.sql, needs them): one INSERT ... SELECT over the arrays.
-- The identity column numbers the rows as they are inserted, in input order (ORDER BY
-- ord, below the projection that evaluates the identity default), so the returned ids
-- sorted ascending are the input rows' ids in input order; the caller maps them so and
-- checks the count.
-- $1 job_type[], $2 queue[], $3 payload[], $4 priority[], $5 run_at[] (NULL = now),
-- $6 max_attempts[] (also kept as enqueued_max_attempts), $7 trace_context[],
-- $8 the batch every row is a member of (NULL: none), $9 their state ('pending', or
-- 'waiting' for a workflow callback), $10 flow_key[] (NULL = none; a webhook's is derived
-- by the table's trigger)
INSERT INTO herald.jobs
    (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
     trace_context, batch_id, state, flow_key)
SELECT job_type, queue, payload, priority, coalesce(run_at, now()), max_attempts,
       max_attempts, trace_context, $8::bigint, $9::text, flow_key
FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::smallint[], $5::timestamptz[],
            $6::integer[], $7::text[], $10::text[])
     WITH ORDINALITY AS t(job_type, queue, payload, priority, run_at, max_attempts,
                          trace_context, flow_key, ord)
ORDER BY ord
RETURNING id
