-- Replays the dead or cancelled jobs among ids $1 in ONE statement that also records
-- them in operator action $5 (`herald.record_operator_action`: created when $5 is NULL,
-- from actor $2, reason $3 and filter $4; extended otherwise), so the change and its
-- record commit together.
-- A replayed job runs now with a fresh attempt budget (the budget it was enqueued
-- with; for rows older than that column, its type's registered budget, else its own)
-- on top of the attempts it made: its attempt numbers, and so its audit
-- trail, continue. Jobs in any other state, and jobs whose idempotency key a live job
-- holds, are left alone. Returns the action id (NULL when nothing changed) and the
-- replayed ids.
-- A replayed dead or cancelled member of a batch leaves the batch's `dead` or
-- `cancelled` count (`revived`): the batch can then succeed once it succeeds, releasing
-- success callbacks held by its death (a cancel ended its dependents: they are replayed
-- on their own, and then run at once).
WITH target AS (
    SELECT j.id, j.job_type, j.idempotency_key, j.state, j.batch_id
    FROM herald.jobs AS j
    WHERE j.id = ANY($1)
      AND j.state IN ('dead', 'cancelled')
      AND (j.idempotency_key IS NULL OR NOT EXISTS (
          SELECT 1 FROM herald.jobs AS live
          WHERE live.job_type = j.job_type
            AND live.idempotency_key = j.idempotency_key
            AND live.state IN ('pending', 'running', 'retrying')))
    FOR UPDATE OF j
),
picked AS (
    SELECT DISTINCT ON (t.job_type, coalesce(t.idempotency_key, '#' || t.id)) t.id
    FROM target AS t
    ORDER BY t.job_type, coalesce(t.idempotency_key, '#' || t.id), t.id
),
changed AS (
    UPDATE herald.jobs AS j
    SET state = 'pending',
        run_at = now(),
        finished_at = NULL,
        -- Saturates at integer's maximum: a row whose attempt count was written near it
        -- (around enqueue) is replayed with what is left, never failing the batch.
        max_attempts = least(j.attempt::bigint + coalesce(
            j.enqueued_max_attempts,
            (SELECT jt.max_attempts FROM herald.job_types AS jt WHERE jt.job_type = j.job_type),
            j.max_attempts), 2147483647)::integer
    FROM picked AS p
    WHERE j.id = p.id
    RETURNING j.id
),
revived AS (
    UPDATE herald.batches AS b
    SET dead = greatest(0, b.dead - d.dead),
        cancelled = greatest(0, b.cancelled - d.cancelled)
    FROM (SELECT t.batch_id,
                 count(*) FILTER (WHERE t.state = 'dead') AS dead,
                 count(*) FILTER (WHERE t.state = 'cancelled') AS cancelled
          FROM changed AS c
          JOIN target AS t ON t.id = c.id
          WHERE t.batch_id IS NOT NULL
          GROUP BY t.batch_id) AS d
    WHERE b.id = d.batch_id
),
counted AS (
    SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM changed
)
SELECT herald.record_operator_action($5, $2, 'replay', $3, $4, c.ids) AS action_id, c.ids AS "ids!"
FROM counted AS c
