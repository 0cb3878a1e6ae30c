-- Enqueue → start of the first attempts started in [$1, $2), in ms: the audit row's
-- started_at (the worker's clock) minus the job's created_at (the enqueuing
-- transaction's start): p50, p99, count. `finished_at >= $1` (implied, since an attempt
-- finishes after it starts) lets attempts_finished_at_idx serve it; the job by its key.
SELECT percentile_cont(0.50) WITHIN GROUP (ORDER BY ms),
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ms),
       count(*)
FROM (
    SELECT extract(epoch FROM a.started_at - j.created_at)::float8 * 1000 AS ms
    FROM herald.attempts AS a
    JOIN herald.jobs AS j ON j.id = a.job_id
    WHERE a.attempt = 1 AND a.finished_at >= $1 AND a.started_at >= $1 AND a.started_at < $2
) AS l
