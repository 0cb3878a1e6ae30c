-- The failure-rate alert's transitions for all job types (scope '*'), oldest first.
SELECT occurred_at AS "occurred_at: StoredTime", transition, failure_rate, attempts, failures
FROM herald.alert_events
WHERE scope = '*'
ORDER BY id
