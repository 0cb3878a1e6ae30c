-- The queues of $1 (all queues when NULL) with due jobs, and the types of those jobs:
-- what one round of `drain` claims.
SELECT queue, array_agg(DISTINCT job_type ORDER BY job_type) AS "job_types!", count(*) AS "due!"
FROM herald.jobs
WHERE state IN ('pending', 'retrying')
  AND run_at <= now()
  AND ($1::text[] IS NULL OR queue = ANY($1))
GROUP BY queue
ORDER BY queue
