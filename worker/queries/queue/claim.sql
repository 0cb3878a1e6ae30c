-- Claims up to $4 runnable jobs of queue $2 and types $3 for worker $1, highest priority
-- first. `= ANY(ARRAY(...))` keeps the index plan under generic prepared plans. The
-- attempt counter saturates at integer's maximum: a row stored with that count (written
-- around enqueue) runs as that attempt instead of failing the whole batch's claim. Rows are
-- returned whatever their `run_at` holds ('-infinity' included): the worker decodes it
-- without failing and fails that job alone with VALIDATION_ERROR.
-- A paused queue (a row in herald.queue_pauses) yields nothing: the probe does not depend
-- on the job row, so PostgreSQL runs it once per statement as a one-time filter (one miss
-- on the table's primary key when the queue is not paused) and scans no job when it is.
-- The statement's snapshot decides: a claim whose snapshot is taken after a pause commits
-- claims nothing.
--
-- Flow limits (herald.flow_limits, migrations/20261214000200_create_flow_limits.sql): a
-- limit applies to a job whose type or flow key is its key.
--   candidates: the runnable jobs in claim order, skipping jobs of keys known to be held
--               (bucket empty until `held_until`, or cap full as of the snapshot: only a
--               hint, the locked rows below decide).
--   bound:      (candidate, limit) pairs; empty, and every later step a no-op, when no
--               limit applies, so an unlimited claim pays one primary-key probe per
--               candidate on a small table.
--   locked:     the limits in use, locked in key order (no deadlock between claimers or
--               with the finish statement, which locks them in the same order) and read
--               as committed now: under READ COMMITTED a row lock returns the newest
--               version, so two claimers never spend the same tokens or slots. `room` is
--               how many jobs the key may start now (whole tokens after the refill, free
--               slots under the cap).
--   granted:    a candidate is claimed only if it ranks within `room` for every limit
--               that applies to it (a job refused by one key still uses a place in
--               another key's ranking: never more than allowed, sometimes fewer).
--   spent:      every locked limit is written back: tokens spent, slots taken, and
--               `held_until` when the bucket holds less than a whole token.
WITH candidates AS MATERIALIZED (
    SELECT j.id, j.job_type, j.flow_key, j.priority, j.run_at
    FROM herald.jobs AS j
    WHERE j.state IN ('pending', 'retrying')
      AND j.queue = $2
      AND j.run_at <= now()
      AND j.job_type = ANY($3)
      AND NOT EXISTS (SELECT 1 FROM herald.queue_pauses AS p WHERE p.queue = $2)
      AND NOT EXISTS (
          SELECT 1
          FROM herald.flow_limits AS h
          WHERE h.key = ANY(ARRAY[j.job_type, j.flow_key])
            AND (h.held_until > now() OR h.running >= h.max_running))
    ORDER BY j.priority DESC, j.run_at, j.id
    LIMIT $4
    FOR UPDATE OF j SKIP LOCKED
),
bound AS MATERIALIZED (
    SELECT c.id, l.key,
           row_number() OVER (PARTITION BY l.key ORDER BY c.priority DESC, c.run_at, c.id) AS place
    FROM candidates AS c
    JOIN herald.flow_limits AS l ON l.key = ANY(ARRAY[c.job_type, c.flow_key])
),
locked AS MATERIALIZED (
    SELECT l.key, l.rate, l.running, l.max_running, clock_timestamp() AS at,
           least(l.burst::float8,
                 l.tokens + coalesce(l.rate, 0)
                            * greatest(0, extract(epoch FROM clock_timestamp() - l.refilled_at)::float8))
               AS tokens
    FROM herald.flow_limits AS l
    WHERE l.key IN (SELECT b.key FROM bound AS b)
    ORDER BY l.key
    FOR UPDATE OF l
),
roomed AS (
    SELECT k.*,
           least(CASE WHEN k.rate IS NULL THEN 2147483647 ELSE floor(k.tokens) END,
                 coalesce(k.max_running - k.running, 2147483647)) AS room
    FROM locked AS k
),
granted AS MATERIALIZED (
    SELECT c.id
    FROM candidates AS c
    WHERE NOT EXISTS (
        SELECT 1
        FROM bound AS b
        JOIN roomed AS r ON r.key = b.key
        WHERE b.id = c.id AND b.place > r.room)
),
taken AS (
    SELECT b.key, count(*) AS n
    FROM bound AS b
    JOIN granted AS g ON g.id = b.id
    GROUP BY b.key
),
spent AS (
    UPDATE herald.flow_limits AS l
    SET tokens = CASE WHEN r.rate IS NULL THEN l.tokens ELSE r.tokens - coalesce(t.n, 0) END,
        refilled_at = r.at,
        running = CASE WHEN r.max_running IS NULL THEN 0 ELSE r.running + coalesce(t.n, 0) END,
        held_until = CASE WHEN r.rate IS NOT NULL AND r.tokens - coalesce(t.n, 0) < 1
                          THEN r.at + make_interval(secs => (1 - (r.tokens - coalesce(t.n, 0))) / r.rate)
                     END
    FROM roomed AS r
    LEFT JOIN taken AS t ON t.key = r.key
    WHERE l.key = r.key
)
UPDATE herald.jobs AS j
SET state = 'running',
    attempt = least(j.attempt, 2147483646) + 1,
    locked_by = $1,
    claimed_at = now(),
    heartbeat_at = now()
WHERE j.id = ANY(ARRAY(SELECT g.id FROM granted AS g))
RETURNING j.id, j.job_type, j.queue, j.payload::text AS "payload!", j.priority, j.attempt, j.max_attempts,
          j.run_at AS "run_at: StoredTime", j.trace_context
