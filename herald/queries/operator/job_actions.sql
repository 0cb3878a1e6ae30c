-- The operator actions that touched job $1, oldest first.
SELECT id, at AS "at: StoredTime", actor, action, reason
FROM herald.operator_actions
WHERE job_ids @> ARRAY[$1::bigint]
ORDER BY at, id
