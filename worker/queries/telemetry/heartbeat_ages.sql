-- Age in seconds of every running worker's last heartbeat (fleet-wide).
SELECT id, extract(epoch FROM now() - heartbeat_at)::float8 AS age
FROM herald.workers
WHERE stopped_at IS NULL
