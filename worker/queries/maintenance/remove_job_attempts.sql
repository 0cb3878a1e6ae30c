-- The audit rows of jobs $1, deleted in the transaction that deleted the jobs: every
-- succeeded attempt, and every failed attempt (any other outcome) already older than
-- its queue's failed-attempt age under policy $2 at $3. Younger failed attempts stay,
-- and go later by their own age (prune_orphan_attempts.sql). Served by the
-- (job_id, attempt) unique index. Returns how many rows it deleted.
WITH gone AS (
    DELETE FROM herald.attempts AS a
    WHERE a.job_id = ANY($1)
      AND (a.outcome = 'succeeded'
           OR a.finished_at < $3::timestamptz - herald.retention_age($2, 'failed_attempts', a.queue))
    RETURNING 1
)
SELECT count(*) AS "removed!" FROM gone
