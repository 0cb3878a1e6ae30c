-- How many of the demo run's jobs ($1: ids) needed more than one attempt.
SELECT count(*) AS "count!" FROM herald.jobs WHERE id = ANY($1) AND attempt > 1
