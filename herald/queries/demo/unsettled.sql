-- How many of the demo run's jobs ($1: ids) have not reached a final state.
SELECT count(*) AS "count!" FROM herald.jobs WHERE id = ANY($1) AND state IN ('pending', 'running', 'retrying')
