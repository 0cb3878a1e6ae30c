-- Jobs by queue and state, for the herald_queue_jobs gauge (fleet-wide): the states that
-- need work or attention (pending, running, retrying, dead). Finished history
-- (succeeded, cancelled) is left out: it only grows, and counting it at every scrape
-- would read the whole table, slower with every month of history
-- (herald_job_attempts_total counts completions). Served by jobs_live_state_type_idx,
-- whose predicate is this WHERE clause.
SELECT queue, state, count(*) AS "jobs!"
FROM herald.jobs
WHERE state IN ('pending', 'running', 'retrying', 'dead')
GROUP BY queue, state
