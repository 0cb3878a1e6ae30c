-- One batch of console authentication-audit rows (herald.console_events: logins,
-- failed logins, logouts, denials) recorded before $1 - $2 seconds, oldest first, at most
-- $3 (console_events_at_idx). Returns how many it deleted.
WITH doomed AS (
    SELECT id FROM herald.console_events
    WHERE at < $1::timestamptz - make_interval(secs => $2)
    ORDER BY at, id
    LIMIT $3
    FOR UPDATE SKIP LOCKED
),
gone AS (
    DELETE FROM herald.console_events AS e USING doomed AS d WHERE e.id = d.id RETURNING 1
)
SELECT count(*) AS "removed!" FROM gone
