-- The live stream's poll of alert transitions: those with an id above $1 (the last one
-- sent), oldest first, at most $2 (the primary key serves it).
SELECT e.id, e.alert, e.scope, e.transition, e.failure_rate,
       e.occurred_at AS "occurred_at: StoredTime"
FROM herald.alert_events AS e
WHERE e.id > $1
ORDER BY e.id
LIMIT $2
