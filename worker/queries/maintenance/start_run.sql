-- Starts worker $1's pruning run under policy $2 (runs inside a fenced transaction):
-- a run left `running` can only be a previous leader's that died, so it is closed as
-- `abandoned` at its last committed batch (its counts are exact: each batch updated them
-- in its own transaction). Returns the new run's id, its start time (the `as of` every
-- age in the run is measured from) and how many runs were abandoned.
WITH abandoned AS (
    UPDATE herald.maintenance_runs
    SET outcome = 'abandoned', finished_at = updated_at
    WHERE finished_at IS NULL
    RETURNING id
),
started AS (
    INSERT INTO herald.maintenance_runs (worker_id, started_at, updated_at, policy)
    VALUES ($1, clock_timestamp(), clock_timestamp(), $2)
    RETURNING id, started_at
)
SELECT s.id AS "id!", s.started_at AS "as_of!", (SELECT count(*) FROM abandoned) AS "abandoned!"
FROM started AS s
