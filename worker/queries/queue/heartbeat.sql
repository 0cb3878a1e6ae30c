-- Renews the lease on every job worker $1 is running.
UPDATE herald.jobs
SET heartbeat_at = now()
WHERE locked_by = $1
  AND state = 'running'
