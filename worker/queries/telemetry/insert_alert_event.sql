-- Records one alert transition (trip or resolve).
INSERT INTO herald.alert_events
    (alert, scope, transition, severity, failure_rate, attempts, failures, threshold,
     window_seconds, worker_id)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
