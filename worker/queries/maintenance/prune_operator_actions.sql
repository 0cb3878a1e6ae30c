-- One batch of operator-action rows (replay, cancel, purge, alert) recorded before
-- $1 - $2 seconds, oldest first, at most $3. Returns how many it deleted.
WITH doomed AS (
    SELECT id FROM herald.operator_actions
    WHERE at < $1::timestamptz - make_interval(secs => $2)
    ORDER BY at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
),
gone AS (
    DELETE FROM herald.operator_actions AS o USING doomed AS d WHERE o.id = d.id RETURNING 1
)
SELECT count(*) AS "removed!" FROM gone
