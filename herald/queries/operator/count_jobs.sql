-- How many jobs match an operator filter (`jobs list --count`): the parameters and
-- conditions of select_jobs.sql, without the limit and the cursor. Reads every matching
-- job, so it is only run when asked.
SELECT count(*) AS "count!"
FROM herald.jobs AS j
CROSS JOIN LATERAL (
    SELECT CASE WHEN j.state = 'pending' AND j.run_at > now() THEN 'scheduled'
                ELSE j.state END AS state
) AS s
WHERE ($1::text[] IS NULL OR s.state = ANY($1))
  AND ($2::text IS NULL OR j.job_type = $2)
  AND ($3::text IS NULL OR j.queue = $3)
  AND ($4::text IS NULL OR j.last_error_code = $4)
  AND ($5::timestamptz IS NULL OR coalesce(j.finished_at, j.created_at) >= $5)
  AND ($6::timestamptz IS NULL OR coalesce(j.finished_at, j.created_at) < $6)
  AND ($7::text IS NULL OR j.id::text = $7 OR strpos(j.idempotency_key, $7) > 0)
