-- Enqueue → start of jobs $1 (first attempts): the audit row's started_at (the worker's
-- clock) minus the job's created_at (the enqueuing transaction's start), in ms:
-- p50, p95, p99, max, count.
SELECT percentile_cont(0.50) WITHIN GROUP (ORDER BY ms),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY ms),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
       max(ms),
       count(*)
FROM (
    SELECT extract(epoch FROM a.started_at - j.created_at)::float8 * 1000 AS ms
    FROM herald.jobs AS j
    JOIN herald.attempts AS a ON a.job_id = j.id AND a.attempt = 1
    WHERE j.id = ANY($1)
) AS l
