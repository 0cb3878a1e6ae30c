-- Records a worker process at start-up.
INSERT INTO herald.workers (id, hostname, pid, queues)
VALUES ($1, $2, $3, $4)
ON CONFLICT (id) DO UPDATE
SET hostname = EXCLUDED.hostname, pid = EXCLUDED.pid, queues = EXCLUDED.queues,
    started_at = now(), heartbeat_at = now(), stopped_at = NULL
