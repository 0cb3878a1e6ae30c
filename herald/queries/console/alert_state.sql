-- The failure-rate alert's state per scope: its latest transition ever (`tripped` means
-- firing now), newest first.
SELECT DISTINCT ON (scope) scope, transition, occurred_at AS "occurred_at: StoredTime"
FROM herald.alert_events
ORDER BY scope, occurred_at DESC, id DESC
