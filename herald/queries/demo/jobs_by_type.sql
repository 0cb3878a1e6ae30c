-- The demo run's jobs ($1: their ids) by type and state.
SELECT job_type, state, count(*) AS "count!" FROM herald.jobs WHERE id = ANY($1) GROUP BY job_type, state ORDER BY job_type, state
