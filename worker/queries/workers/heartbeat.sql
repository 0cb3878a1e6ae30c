-- Marks worker $1 alive.
UPDATE herald.workers SET heartbeat_at = now() WHERE id = $1
