-- Deletes the jobs among ids $1 that are in states $6 and finished (else created)
-- before $7, in ONE statement that also records them in operator action $5
-- (`herald.record_operator_action`: created when $5 is NULL, from actor $2, reason $3
-- and filter $4; extended otherwise). Their audit rows are deleted too only when $8 is
-- true. Returns the action id (NULL when nothing changed) and the purged ids.
WITH target AS (
    SELECT j.id
    FROM herald.jobs AS j
    WHERE j.id = ANY($1)
      AND j.state = ANY($6)
      AND coalesce(j.finished_at, j.created_at) < $7
    FOR UPDATE OF j
),
changed AS (
    DELETE FROM herald.jobs AS j
    USING target AS t
    WHERE j.id = t.id
    RETURNING j.id
),
trail AS (
    DELETE FROM herald.attempts AS a
    USING changed AS c
    WHERE $8::boolean AND a.job_id = c.id
    RETURNING a.id
),
counted AS (
    SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM changed
)
SELECT herald.record_operator_action($5, $2, 'purge', $3, $4, c.ids) AS action_id, c.ids AS "ids!"
FROM counted AS c
