-- A large history: $1 finished jobs with $2 audit rows spread over them (attempts
-- 1..n per job, the last one `succeeded`), as months of use would leave behind.
WITH jobs AS (
    INSERT INTO herald.jobs (job_type, payload, state, attempt, max_attempts, run_at,
                             created_at, finished_at)
    SELECT 'bench.noop', '{}', 'succeeded', ($2 / $1)::int, 25,
           now() - make_interval(secs => g), now() - make_interval(secs => g),
           now() - make_interval(secs => g) + interval '1 second'
    FROM generate_series(1, $1) AS g
    RETURNING id, attempt, finished_at
)
INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at,
                             finished_at, duration_ms, outcome, job_state, error_code,
                             error_class, message)
SELECT j.id, 'bench.noop', 'default', a, 'history-worker',
       j.finished_at - interval '1 second', j.finished_at, 3,
       CASE WHEN a = j.attempt THEN 'succeeded' ELSE 'retrying' END,
       CASE WHEN a = j.attempt THEN 'succeeded' ELSE 'retrying' END,
       CASE WHEN a = j.attempt THEN NULL ELSE 'UPSTREAM_UNAVAILABLE' END,
       CASE WHEN a = j.attempt THEN NULL ELSE 'retryable' END,
       CASE WHEN a = j.attempt THEN NULL ELSE 'upstream returned 503' END
FROM jobs AS j, generate_series(1, j.attempt) AS a
