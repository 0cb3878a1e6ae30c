-- The newest pruning run: its outcome and how many seconds ago it started (the leader
-- decides from it whether a run is due), or no row.
SELECT outcome, extract(epoch FROM clock_timestamp() - started_at)::double precision AS "age_secs!"
FROM herald.maintenance_runs
ORDER BY started_at DESC, id DESC
LIMIT 1
