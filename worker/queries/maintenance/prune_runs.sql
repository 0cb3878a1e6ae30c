-- One batch of pruning-run records that finished before $1 - $2 seconds, oldest first,
-- at most $3 (a run in progress has no finish time and is never deleted). Returns how
-- many it deleted.
WITH doomed AS (
    SELECT id FROM herald.maintenance_runs
    WHERE finished_at < $1::timestamptz - make_interval(secs => $2)
    ORDER BY finished_at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
),
gone AS (
    DELETE FROM herald.maintenance_runs AS r USING doomed AS d WHERE r.id = d.id RETURNING 1
)
SELECT count(*) AS "removed!" FROM gone
