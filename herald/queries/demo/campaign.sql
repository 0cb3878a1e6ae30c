-- The demo campaign's batch $1: its counters, when it completed, and its summary
-- callback's state and start (which follows the last member's finish).
SELECT b.total, b.succeeded, b.dead,
       b.completed_at AS "completed_at: StoredTime",
       j.id AS "callback_id?", j.state AS "callback_state?",
       (SELECT a.started_at FROM herald.attempts AS a WHERE a.job_id = j.id
        ORDER BY a.attempt LIMIT 1) AS "callback_started_at: StoredTime"
FROM herald.batches AS b
LEFT JOIN herald.batch_waiters AS w ON w.batch_id = b.id AND w.on_event = 'complete'
LEFT JOIN herald.jobs AS j ON j.id = w.job_id
WHERE b.id = $1
LIMIT 1
