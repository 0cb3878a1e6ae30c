-- Sets the flow limit of key $1 (rate $2 jobs a second with burst $3, cap $4 running
-- jobs; NULL: none) for actor $5 with reason $6, in ONE statement that also records the
-- operator action (`limit_set`; the key, the settings and the settings it replaced in
-- `filter`). A new bucket starts full; a replaced one keeps its tokens (at most the new
-- burst), so re-setting a limit grants no extra burst. A new cap counts the key's
-- running jobs as of this statement's snapshot; a replaced cap keeps its count. The
-- row's trigger wakes every worker (`limit:<key>` on `herald_control`).
WITH previous AS (
    SELECT l.rate, l.burst, l.max_running, l.set_by, l.reason
    FROM herald.flow_limits AS l
    WHERE l.key = $1
),
counted AS (
    SELECT count(*)::integer AS n
    FROM herald.jobs AS j
    WHERE j.state = 'running' AND (j.job_type = $1 OR j.flow_key = $1)
),
saved AS (
    INSERT INTO herald.flow_limits AS l
        (key, rate, burst, max_running, tokens, refilled_at, running, set_at, set_by, reason)
    SELECT $1, $2, $3, $4, coalesce($3, 0), clock_timestamp(), c.n, clock_timestamp(), $5, $6
    FROM counted AS c
    ON CONFLICT (key) DO UPDATE
    SET rate = EXCLUDED.rate,
        burst = EXCLUDED.burst,
        max_running = EXCLUDED.max_running,
        tokens = CASE WHEN l.rate IS NULL THEN EXCLUDED.tokens
                      ELSE least(l.tokens, EXCLUDED.tokens) END,
        held_until = NULL,
        running = CASE WHEN l.max_running IS NULL THEN EXCLUDED.running ELSE l.running END,
        set_at = EXCLUDED.set_at,
        set_by = EXCLUDED.set_by,
        reason = EXCLUDED.reason
    RETURNING l.set_at
),
recorded AS (
    INSERT INTO herald.operator_actions (at, actor, action, reason, filter)
    SELECT s.set_at, $5, 'limit_set', $6,
           jsonb_build_object('key', $1::text, 'rate', $2::float8, 'burst', $3::integer,
                              'max_running', $4::integer,
                              'previous', (SELECT to_jsonb(p) FROM previous AS p))
    FROM saved AS s
    RETURNING id
)
SELECT r.id AS action_id FROM recorded AS r
