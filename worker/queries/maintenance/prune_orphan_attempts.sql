-- One batch of audit rows whose job no longer exists (pruned, or purged without
-- --include-audit) and that are past their own age under policy $1 at $2: a succeeded
-- attempt by its queue's `succeeded` age, any other by its queue's `failed_attempts`
-- age. The audit rows of a job that exists are never touched here. Reads at most $3 rows
-- after position ($4, $5) in (finished_at, id) order from $2 - $6 (the shortest of those
-- ages) down, through attempts_finished_at_idx. Returns the position reached, how many
-- rows it read and how many it deleted.
WITH candidates AS (
    SELECT a.id, a.job_id, a.queue, a.outcome, a.finished_at
    FROM herald.attempts AS a
    WHERE a.finished_at < $2::timestamptz - make_interval(secs => $6)
      AND (a.finished_at, a.id) > ($4, $5)
    ORDER BY a.finished_at, a.id
    LIMIT $3
),
doomed AS (
    SELECT c.id
    FROM candidates AS c
    WHERE c.finished_at < $2 - herald.retention_age(
              $1,
              CASE WHEN c.outcome = 'succeeded' THEN 'succeeded' ELSE 'failed_attempts' END,
              c.queue)
      AND NOT EXISTS (SELECT 1 FROM herald.jobs AS j WHERE j.id = c.job_id)
),
gone AS (
    DELETE FROM herald.attempts AS a
    USING doomed AS d
    WHERE a.id = d.id
    RETURNING 1
),
last AS (
    SELECT finished_at, id FROM candidates ORDER BY finished_at DESC, id DESC LIMIT 1
)
SELECT (SELECT finished_at FROM last) AS scanned_at,
       (SELECT id FROM last) AS scanned_id,
       (SELECT count(*) FROM candidates) AS "scanned!",
       (SELECT count(*) FROM gone) AS "removed!"
