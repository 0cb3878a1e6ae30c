-- When the next job of queue $1 and types $2 becomes runnable (NULL if none waits).
SELECT min(run_at) AS "next_due: StoredTime"
FROM herald.jobs
WHERE state IN ('pending', 'retrying')
  AND queue = $1
  AND job_type = ANY($2)
