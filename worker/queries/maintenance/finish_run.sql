-- Closes run $1 with outcome $2 and error $3. The finish time is now when $4 is true
-- (the worker still leads: it runs inside a fenced transaction), else the run's last
-- committed batch (it lost the lease, so its record must not overlap its successor's).
UPDATE herald.maintenance_runs
SET outcome = $2,
    error = $3,
    finished_at = CASE WHEN $4 THEN clock_timestamp() ELSE updated_at END,
    updated_at = CASE WHEN $4 THEN clock_timestamp() ELSE updated_at END
WHERE id = $1 AND finished_at IS NULL
