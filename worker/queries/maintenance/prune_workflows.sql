-- One pruning batch of workflow rows: reads at most $1 completed batches with an id above
-- $2, oldest first, and deletes those of which no job is left (no member, `jobs_batch_idx`;
-- no callback, `batch_waiters_batch_idx`): the batch row, its waiter rows (ON DELETE
-- CASCADE) and its workflow records (`workflow_events_batch_idx`). A batch's jobs go by
-- their own retention ages, so a batch lasts as long as its longest-kept job. Locks what
-- it deletes with SKIP LOCKED (a finisher or a cancel counting into it is never waited
-- for). Returns the last batch id read (NULL: none), how many it read, and how many
-- batches and records it deleted.
WITH candidates AS (
    SELECT b.id
    FROM herald.batches AS b
    WHERE b.id > $2 AND b.completed_at IS NOT NULL
    ORDER BY b.id
    LIMIT $1
),
doomed AS (
    SELECT b.id
    FROM herald.batches AS b
    JOIN candidates AS c ON c.id = b.id
    WHERE NOT EXISTS (SELECT 1 FROM herald.jobs AS j WHERE j.batch_id = b.id)
      AND NOT EXISTS (SELECT 1
                      FROM herald.batch_waiters AS w
                      JOIN herald.jobs AS j ON j.id = w.job_id
                      WHERE w.batch_id = b.id)
    FOR UPDATE OF b SKIP LOCKED
),
events AS (
    DELETE FROM herald.workflow_events AS e USING doomed AS d WHERE e.batch_id = d.id
    RETURNING 1
),
gone AS (
    DELETE FROM herald.batches AS b USING doomed AS d WHERE b.id = d.id RETURNING 1
)
SELECT (SELECT max(id) FROM candidates) AS scanned_id,
       (SELECT count(*) FROM candidates) AS "scanned!",
       (SELECT count(*) FROM gone) AS "batches!",
       (SELECT count(*) FROM events) AS "events!"
