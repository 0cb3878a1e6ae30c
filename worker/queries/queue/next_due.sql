-- When the next job of queue $1 and types $2 becomes runnable (NULL if none waits, or if
-- the queue is paused: its backend then waits for the resume's NOTIFY or the safety poll).
SELECT min(run_at) AS "next_due: StoredTime"
FROM herald.jobs
WHERE state IN ('pending', 'retrying')
  AND queue = $1
  AND job_type = ANY($2)
  AND NOT EXISTS (SELECT 1 FROM herald.queue_pauses AS p WHERE p.queue = $1)
