-- Pauses queue $1 for actor $2 with reason $3, in ONE statement that also records the
-- operator action (action `pause`, the queue in `filter`). A queue already paused is left
-- alone and nothing is recorded: no row comes back. The pause row is written first, with
-- ON CONFLICT DO NOTHING, and the action only from what it inserted, so two operators
-- pausing at once record one pause. The table's trigger sends `pause:<queue>` on
-- `herald_control` at commit.
WITH paused AS (
    INSERT INTO herald.queue_pauses (queue, paused_by, reason)
    VALUES ($1, $2, $3)
    ON CONFLICT (queue) DO NOTHING
    RETURNING queue, paused_at
),
recorded AS (
    INSERT INTO herald.operator_actions (at, actor, action, reason, filter)
    SELECT p.paused_at, $2, 'pause', $3, jsonb_build_object('queue', p.queue)
    FROM paused AS p
    RETURNING id
)
SELECT r.id AS action_id, p.paused_at AS "paused_at: StoredTime"
FROM recorded AS r CROSS JOIN paused AS p
