-- Cancels the pending (or scheduled) and retrying jobs among ids $1 in ONE statement
-- that also records them in operator action $5 (`herald.record_operator_action`:
-- created when $5 is NULL, from actor $2, reason $3 and filter $4; extended otherwise).
-- Running and finished jobs are left alone. Returns the action id (NULL when nothing
-- changed) and the cancelled ids.
WITH target AS (
    SELECT j.id
    FROM herald.jobs AS j
    WHERE j.id = ANY($1) AND j.state IN ('pending', 'retrying')
    FOR UPDATE OF j
),
changed AS (
    UPDATE herald.jobs AS j
    SET state = 'cancelled', finished_at = now()
    FROM target AS t
    WHERE j.id = t.id
    RETURNING j.id
),
counted AS (
    SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM changed
)
SELECT herald.record_operator_action($5, $2, 'cancel', $3, $4, c.ids) AS action_id, c.ids AS "ids!"
FROM counted AS c
