-- Jobs by queue and state, for the herald_queue_jobs gauge (fleet-wide).
SELECT queue, state, count(*) AS jobs
FROM herald.jobs
GROUP BY queue, state
