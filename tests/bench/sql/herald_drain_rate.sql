-- The drain of the benchmark's jobs (ids >= $1): how many finished, first and last finish.
SELECT count(*), min(finished_at), max(finished_at)
FROM herald.jobs
WHERE id >= $1 AND state = 'succeeded'
