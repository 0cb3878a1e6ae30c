-- Records a job type this worker runs, so SQL-side enqueue can validate against it.
INSERT INTO herald.job_types (job_type, queue, max_attempts)
VALUES ($1, $2, $3)
ON CONFLICT (job_type) DO UPDATE
SET queue = EXCLUDED.queue, max_attempts = EXCLUDED.max_attempts, last_seen_at = now()
