-- Marks worker $1 stopped (graceful shutdown).
UPDATE herald.workers SET stopped_at = now(), heartbeat_at = now() WHERE id = $1
