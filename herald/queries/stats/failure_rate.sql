-- Attempts and failures per job type over the last $1 seconds, from the audit table,
-- so every worker of the fleet is counted. Interrupted attempts are not counted.
SELECT job_type,
       count(*) AS "attempts!",
       count(*) FILTER (WHERE outcome IN ('retrying', 'dead', 'abandoned')) AS "failures!"
FROM herald.attempts
WHERE finished_at > now() - make_interval(secs => $1)
  AND outcome <> 'interrupted'
GROUP BY job_type
ORDER BY job_type
