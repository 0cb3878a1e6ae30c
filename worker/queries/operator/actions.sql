-- The operator-action log, newest first: action $1, actor $2 (NULL = any), at or after
-- $3 (NULL = all time), at most $4 rows.
SELECT id, at, actor, action, reason, filter, job_count, job_ids
FROM herald.operator_actions
WHERE ($1::text IS NULL OR action = $1)
  AND ($2::text IS NULL OR actor = $2)
  AND ($3::timestamptz IS NULL OR at >= $3)
ORDER BY at DESC, id DESC
LIMIT $4
