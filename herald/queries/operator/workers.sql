-- Worker processes, longest-running first: live ones (not stopped), or all when $1.
-- In flight = jobs this worker holds running (served by jobs_running_owner_idx).
-- A heartbeat that is not a finite time is infinitely old (as in
-- telemetry/heartbeat_ages.sql): that row shows as silent, the query never fails.
SELECT w.id, w.hostname, w.pid, w.queues, w.started_at AS "started_at: StoredTime",
       w.heartbeat_at AS "heartbeat_at: StoredTime", w.stopped_at AS "stopped_at: StoredTime",
       CASE WHEN isfinite(w.heartbeat_at)
            THEN extract(epoch FROM now() - w.heartbeat_at)::float8
            ELSE 'Infinity'::float8
       END AS "heartbeat_age_secs!",
       (SELECT count(*) FROM herald.jobs AS j
        WHERE j.state = 'running' AND j.locked_by = w.id) AS "in_flight!"
FROM herald.workers AS w
WHERE $1 OR w.stopped_at IS NULL
ORDER BY w.started_at, w.id
