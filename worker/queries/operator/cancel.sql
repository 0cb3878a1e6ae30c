-- Cancels the pending (or scheduled) and retrying jobs among ids $1 in ONE statement
-- that also records them in operator action $5 (created when $5 is NULL, from actor $2,
-- reason $3 and filter $4; extended otherwise). Running and finished jobs are left
-- alone. Returns the action id (NULL when nothing changed) and the cancelled ids.
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
    SELECT count(*) AS n, coalesce(array_agg(id ORDER BY id), '{}') AS ids FROM changed
),
created AS (
    INSERT INTO herald.operator_actions (actor, action, reason, filter, job_count, job_ids)
    SELECT $2, 'cancel', $3, $4, c.n, c.ids
    FROM counted AS c
    WHERE $5::bigint IS NULL AND c.n > 0
    RETURNING id
),
extended AS (
    UPDATE herald.operator_actions AS a
    SET job_count = a.job_count + c.n, job_ids = a.job_ids || c.ids
    FROM counted AS c
    WHERE a.id = $5 AND c.n > 0
    RETURNING a.id
)
SELECT coalesce((SELECT id FROM created), (SELECT id FROM extended), $5::bigint) AS action_id,
       c.ids
FROM counted AS c
