-- Pruning runs completed so far and the jobs they removed. A small table (one row per
-- run), read whole.
SELECT count(*) FILTER (WHERE outcome = 'completed'),
       coalesce(sum(jobs_succeeded + jobs_dead + jobs_cancelled), 0)::int8
FROM herald.maintenance_runs
