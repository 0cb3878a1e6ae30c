-- Resumes queue $1 for actor $2 (reason $3, may be NULL), in ONE statement that also
-- records the operator action (action `resume`; `filter` holds the queue and the pause
-- it ends: when, by whom, why). A queue that is not paused is left alone and nothing is
-- recorded: no row comes back. The table's trigger sends the queue's name on
-- `herald_jobs` at commit, so idle workers claim at once.
WITH resumed AS (
    DELETE FROM herald.queue_pauses
    WHERE queue = $1
    RETURNING queue, paused_at, paused_by, reason
),
recorded AS (
    INSERT INTO herald.operator_actions (actor, action, reason, filter)
    SELECT $2, 'resume', $3::text,
           jsonb_build_object('queue', r.queue, 'paused_at', r.paused_at,
                              'paused_by', r.paused_by, 'pause_reason', r.reason)
    FROM resumed AS r
    RETURNING id
)
SELECT c.id AS action_id, r.paused_at AS "paused_at: StoredTime", r.paused_by
FROM recorded AS c CROSS JOIN resumed AS r
