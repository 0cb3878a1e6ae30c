-- Runnable jobs each flow limit holds back now, fleet-wide (herald_flow_held_jobs):
-- its cap is full (`concurrency_cap`) or its bucket is empty (`rate_limit`). Only the
-- limits that hold anything are joined to the waiting jobs.
SELECT l.key,
       CASE WHEN l.running >= l.max_running THEN 'concurrency_cap' ELSE 'rate_limit' END AS "reason!",
       count(*) AS "jobs!"
FROM herald.flow_limits AS l
JOIN herald.jobs AS j
  ON j.state IN ('pending', 'retrying') AND j.run_at <= now()
 AND (j.job_type = l.key OR j.flow_key = l.key)
WHERE l.held_until > now() OR l.running >= l.max_running
GROUP BY 1, 2
