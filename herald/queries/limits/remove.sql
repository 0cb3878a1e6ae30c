-- Removes the flow limit of key $1 for actor $2 with reason $3, in ONE statement that
-- also records the operator action (`limit_remove`; the removed settings in `filter`).
-- No row comes back when the key has no limit. The table's trigger wakes every worker.
WITH removed AS (
    DELETE FROM herald.flow_limits AS l
    WHERE l.key = $1
    RETURNING l.key, l.rate, l.burst, l.max_running, l.set_by, l.reason
),
recorded AS (
    INSERT INTO herald.operator_actions (at, actor, action, reason, filter)
    SELECT clock_timestamp(), $2, 'limit_remove', $3,
           jsonb_build_object('key', r.key, 'rate', r.rate, 'burst', r.burst,
                              'max_running', r.max_running, 'set_by', r.set_by,
                              'set_reason', r.reason)
    FROM removed AS r
    RETURNING id
)
SELECT r.id AS action_id FROM recorded AS r
