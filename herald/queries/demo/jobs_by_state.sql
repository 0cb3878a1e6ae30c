-- The demo run's jobs ($1: their ids) by state.
SELECT state, count(*) AS "count!" FROM herald.jobs WHERE id = ANY($1) GROUP BY state ORDER BY state
