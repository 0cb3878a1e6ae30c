-- Batch $1's members (`role` NULL) and callbacks (`role` = the event each waits for),
-- members first: state, attempts, last error, the latest `held` record, and the batch a
-- callback is itself a member of (a chain's next step).
SELECT j.id, j.job_type, j.state, j.attempt, j.max_attempts, j.last_error_code,
       (SELECT a.message FROM herald.attempts AS a
        WHERE a.job_id = j.id AND a.error_code IS NOT NULL
        ORDER BY a.attempt DESC LIMIT 1) AS last_error,
       (SELECT e.message FROM herald.workflow_events AS e
        WHERE e.job_id = j.id ORDER BY e.id DESC LIMIT 1) AS held,
       w.on_event AS "role?",
       CASE WHEN w.on_event IS NOT NULL THEN j.batch_id END AS "next_batch?"
FROM herald.jobs AS j
LEFT JOIN herald.batch_waiters AS w ON w.job_id = j.id AND w.batch_id = $1
WHERE j.batch_id = $1 OR w.batch_id = $1
ORDER BY w.on_event IS NOT NULL, j.id
