-- One pruning batch of finished jobs in state $1 (succeeded, dead or cancelled) that
-- finished before $3 minus their queue's retention age under policy $2
-- (herald.retention_age). Reads at most $4 jobs after position ($5, $6) in
-- (finished_at, id) order, through jobs_finished_idx from $3 - $7 (the class's shortest
-- age in any queue) down, so a run reads each candidate once even when a queue's longer
-- override keeps it. Locks what it deletes with SKIP LOCKED: a job an operator is
-- replaying is left for the next run, never waited for. Pending, running and retrying
-- jobs are never read: the state is re-checked under the row lock.
-- Returns the scan position reached, how many jobs it read, and the deleted jobs' ids and finish times, oldest
-- first (their audit rows are removed next, in the same transaction).
WITH candidates AS (
    SELECT j.id, j.queue, j.finished_at
    FROM herald.jobs AS j
    WHERE j.state = $1
      AND j.finished_at < $3::timestamptz - make_interval(secs => $7)
      AND (j.finished_at, j.id) > ($5, $6)
    ORDER BY j.finished_at, j.id
    LIMIT $4
),
doomed AS (
    SELECT j.id
    FROM herald.jobs AS j
    JOIN candidates AS c ON c.id = j.id
    WHERE j.state = $1
      AND j.finished_at < $3 - herald.retention_age($2, $1, j.queue)
    FOR UPDATE OF j SKIP LOCKED
),
gone AS (
    DELETE FROM herald.jobs AS j
    USING doomed AS d
    WHERE j.id = d.id
    RETURNING j.id, j.finished_at
),
last AS (
    SELECT finished_at, id FROM candidates ORDER BY finished_at DESC, id DESC LIMIT 1
)
SELECT (SELECT finished_at FROM last) AS scanned_at,
       (SELECT id FROM last) AS scanned_id,
       (SELECT count(*) FROM candidates) AS "scanned!",
       coalesce((SELECT array_agg(id ORDER BY finished_at, id) FROM gone), '{}') AS "ids!",
       coalesce((SELECT array_agg(finished_at ORDER BY finished_at, id) FROM gone), '{}') AS "finished!"
