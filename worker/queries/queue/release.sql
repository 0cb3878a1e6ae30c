-- Gives back jobs worker $2 claimed but never started, without charging an attempt, and
-- frees their slots under the concurrency caps that apply to them (herald.flow_limits;
-- limit rows locked in key order, as the claim and the finish statement lock them).
WITH released AS (
    UPDATE herald.jobs
    SET state = CASE WHEN attempt > 1 THEN 'retrying' ELSE 'pending' END,
        attempt = attempt - 1,
        locked_by = NULL,
        claimed_at = NULL,
        heartbeat_at = NULL
    WHERE id = ANY($1)
      AND locked_by = $2
      AND state = 'running'
    RETURNING job_type, flow_key
),
freed AS MATERIALIZED (
    SELECT l.key, count(*) AS n
    FROM released AS r
    JOIN herald.flow_limits AS l
      ON l.key = ANY(ARRAY[r.job_type, r.flow_key]) AND l.max_running IS NOT NULL
    GROUP BY l.key
),
locked AS MATERIALIZED (
    SELECT l.key, f.n
    FROM herald.flow_limits AS l
    JOIN freed AS f ON f.key = l.key
    ORDER BY l.key
    FOR UPDATE OF l
),
slots AS (
    UPDATE herald.flow_limits AS l
    SET running = greatest(0, l.running - k.n)
    FROM locked AS k
    WHERE l.key = k.key
)
SELECT count(*) AS "released!" FROM released
