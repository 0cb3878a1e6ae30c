-- Herald's audit invariant, broken: jobs (not running) whose attempts are not audited
-- exactly once each, numbered 1..=attempt. Returns (job id, attempts, audit rows).
SELECT j.id, j.attempt, count(a.id) AS "audit_rows!"
FROM herald.jobs j LEFT JOIN herald.attempts a ON a.job_id = j.id
WHERE j.state <> 'running'
GROUP BY j.id, j.attempt
HAVING count(a.id) <> j.attempt
    OR count(a.id) <> count(DISTINCT a.attempt)
    OR coalesce(max(a.attempt), 0) <> j.attempt
