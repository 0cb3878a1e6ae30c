-- Age in seconds of every running worker's last heartbeat (fleet-wide). A heartbeat that
-- is not a finite time (written around the workers' own writes) is infinitely old: the
-- row shows as silent instead of failing the whole query (PostgreSQL < 17 cannot
-- subtract an infinite timestamp) and hiding every other worker's age.
SELECT id,
       CASE WHEN isfinite(heartbeat_at)
            THEN extract(epoch FROM now() - heartbeat_at)::float8
            ELSE 'Infinity'::float8
       END AS "age!"
FROM herald.workers
WHERE stopped_at IS NULL
