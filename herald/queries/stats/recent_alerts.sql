-- Alert transitions over the last $1 seconds, newest first.
SELECT occurred_at AS "occurred_at: StoredTime", scope, transition, failure_rate, worker_id
FROM herald.alert_events
WHERE occurred_at > now() - make_interval(secs => $1)
ORDER BY occurred_at DESC, id DESC
LIMIT 20
