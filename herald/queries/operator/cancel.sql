-- Cancels the pending (or scheduled) and retrying jobs among ids $1, and requests the
-- cancellation of the running ones, in ONE statement that also records them all in
-- operator action $5 (`herald.record_operator_action`: created when $5 is NULL, from
-- actor $2, reason $3 and filter $4; extended otherwise). A running job stays `running`:
-- its request (herald.cancel_requests, for the attempt running now) reaches the worker
-- holding it (NOTIFY at commit, or its next lease heartbeat), which stops the handler and
-- records the attempt `cancelled`; if that worker is gone, the rescue of its expired
-- lease ends the job `cancelled`. The job row's `cancel_requested_at` is set too, so a
-- finish racing this statement sees it (see the migration 20261214000300). A second
-- request for the same attempt changes nothing.
-- Finished jobs are left alone. Returns the action id (NULL when nothing changed) and
-- the changed ids (cancelled and cancel-requested).
WITH target AS (
    SELECT j.id, j.state, j.attempt
    FROM herald.jobs AS j
    WHERE j.id = ANY($1) AND j.state IN ('pending', 'retrying', 'running')
    FOR UPDATE OF j
),
changed AS (
    UPDATE herald.jobs AS j
    SET state = 'cancelled', finished_at = now(), cancel_requested_at = NULL
    FROM target AS t
    WHERE j.id = t.id AND t.state <> 'running'
    RETURNING j.id
),
flagged AS (
    UPDATE herald.jobs AS j
    SET cancel_requested_at = coalesce(j.cancel_requested_at, now())
    FROM target AS t
    WHERE j.id = t.id AND t.state = 'running'
),
requested AS (
    INSERT INTO herald.cancel_requests (job_id, attempt, actor, reason)
    SELECT t.id, t.attempt, $2, $3
    FROM target AS t
    WHERE t.state = 'running'
    ON CONFLICT (job_id, attempt) DO NOTHING
    RETURNING job_id AS id
),
counted AS (
    SELECT coalesce(array_agg(id ORDER BY id), '{}') AS ids
    FROM (SELECT id FROM changed UNION ALL SELECT id FROM requested) AS c
)
SELECT herald.record_operator_action($5, $2, 'cancel', $3, $4, c.ids) AS action_id, c.ids AS "ids!"
FROM counted AS c
