-- The demo run's audit rows ($1: job ids) by outcome.
SELECT outcome, count(*) AS "count!" FROM herald.attempts WHERE job_id = ANY($1) GROUP BY outcome ORDER BY outcome
