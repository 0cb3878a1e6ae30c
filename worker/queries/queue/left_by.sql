-- Locks running jobs still held by worker id $1 when a process with that id starts:
-- the previous process with the same id died holding them.
SELECT id, job_type, queue, attempt, max_attempts, locked_by,
       claimed_at AS "claimed_at: StoredTime", trace_context
FROM herald.jobs
WHERE state = 'running'
  AND locked_by = $1
ORDER BY id
LIMIT $2
FOR UPDATE SKIP LOCKED
