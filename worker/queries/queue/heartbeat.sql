-- Renews the lease on the jobs $2 that worker $1's process holds (claimed and not yet
-- recorded). Only those: a row that merely carries this worker id is run by nobody, so
-- its lease must run out and rescue must take it.
UPDATE herald.jobs
SET heartbeat_at = now()
WHERE id = ANY($2)
  AND locked_by = $1
  AND state = 'running'
