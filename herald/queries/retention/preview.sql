-- What a pruning run would remove now under policy $1 (the JSON of
-- herald_worker::maintenance::policy_json, read by herald.retention_age exactly as the
-- worker's pruning statements read it): per class, how many rows and the oldest one's
-- time. `audit_rows`: the audit rows that would go with those jobs (succeeded attempts,
-- and failed ones past their own age) plus those of jobs already gone, past their age.
-- Counts every matching row: on a very large history it reads the finished jobs and
-- the audit table once.
WITH prunable_jobs AS (
    SELECT j.id, j.state, j.finished_at
    FROM herald.jobs AS j
    WHERE j.state IN ('succeeded', 'dead', 'cancelled')
      AND j.finished_at < now() - herald.retention_age($1, j.state, j.queue)
),
prunable_attempts AS (
    SELECT a.finished_at
    FROM herald.attempts AS a
    LEFT JOIN herald.jobs AS j ON j.id = a.job_id
    LEFT JOIN prunable_jobs AS p ON p.id = a.job_id
    WHERE (j.id IS NULL
           AND a.finished_at < now() - herald.retention_age(
                   $1, CASE WHEN a.outcome = 'succeeded' THEN 'succeeded' ELSE 'failed_attempts' END, a.queue))
       OR (p.id IS NOT NULL
           AND (a.outcome = 'succeeded'
                OR a.finished_at < now() - herald.retention_age($1, 'failed_attempts', a.queue)))
)
SELECT s.state AS "class!", count(p.id) AS "rows!", min(p.finished_at) AS "oldest?: StoredTime"
FROM unnest(ARRAY['succeeded', 'dead', 'cancelled']) AS s(state)
LEFT JOIN prunable_jobs AS p ON p.state = s.state
GROUP BY s.state
UNION ALL
SELECT 'audit_rows', count(*), min(finished_at) FROM prunable_attempts
UNION ALL
SELECT 'operator_actions', count(*), min(at)
FROM herald.operator_actions
WHERE at < now() - herald.retention_age($1, 'operator_actions', NULL)
UNION ALL
SELECT 'maintenance_runs', count(*), min(finished_at)
FROM herald.maintenance_runs
WHERE finished_at < now() - herald.retention_age($1, 'maintenance_runs', NULL)
