-- The live stream's poll of attempt outcomes: the newest attempts finished after $3 (when
-- the stream started) and within the last $1 seconds by the database's clock (a look-back
-- of a few seconds, so rows committed late or by a worker whose clock runs behind are
-- still seen), at most $2, newest first. Served by the per-partition `finished_at` index
-- read backwards and stopped at the limit, so a poll reads at most $2 rows however large
-- the audit table is. The poller skips the ids its previous poll returned.
SELECT a.id, a.job_id, a.job_type, a.queue, a.outcome,
       a.finished_at AS "finished_at: StoredTime"
FROM herald.attempts AS a
WHERE a.finished_at > greatest(now() - make_interval(secs => $1), $3)
ORDER BY a.finished_at DESC, a.id DESC
LIMIT $2
