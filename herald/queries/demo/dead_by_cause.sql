-- The demo run's dead jobs ($1: job ids) by the code and class of their last failure.
SELECT a.error_code, a.error_class, count(*) AS "count!"
FROM herald.jobs AS j
JOIN herald.attempts AS a ON a.job_id = j.id AND a.attempt = j.attempt
WHERE j.id = ANY($1) AND j.state = 'dead'
GROUP BY a.error_code, a.error_class
ORDER BY count(*) DESC, a.error_code
