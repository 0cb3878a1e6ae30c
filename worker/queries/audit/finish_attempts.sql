-- Finishes a batch of attempts in ONE statement: each job's state change and its audit
-- row are written together or not at all. A row applies only while the job is still
-- running the same attempt under the same worker (a rescued attempt is not finished
-- twice), nor, when the job is being cancelled, if it would run the job again. Returns
-- the ids that applied.
--
-- Plan (checked with EXPLAIN under plan_cache_mode = force_generic_plan, as sqlx's
-- prepared statement runs after its fifth execution): a nested loop from `input` into
-- jobs_pkey, linear in the batch. `coalesce(j.state, '')` (state is NOT NULL, so it is
-- the same test) keeps the planner off the partial indexes on running rows: with
-- `j.state = 'running'` (and `j.id = ANY($1)`) it scanned every running row and joined
-- each to every input row, quadratic: 130–230 ms for a batch of 512 instead of 10 ms.
--
-- Flow limits (migrations/20261214000200_create_flow_limits.sql): every job that stops
-- running here frees its slot under the concurrency caps that apply to it (`freed`; no
-- row and no lock when none applies). The limit rows are locked in key order, as the
-- claim locks them, so finishers and claimers never deadlock; a cap that was full
-- notifies `limit:<key>` (the table's trigger) so idle workers claim at once.
--
-- Workflows (migrations/20261212000100_create_batches.sql): members that end here
-- (succeeded, dead, or cancelled while running) are added to their batch's counters, and
-- the callbacks whose event this crosses are released, in this same statement (members
-- cancelled before they ran are counted by herald/queries/operator/cancel.sql). The
-- success dependents of a member that died or was cancelled while running stay
-- `waiting` with a `held` record naming it; replaying it resumes them. Jobs outside a
-- batch return a NULL batch_id: `settled` is empty and the batch steps touch no row. Batch rows are locked
-- in id order (`locked`) so two finishers never deadlock; holding the lock, exactly one
-- statement sees an event's time NULL, so each callback is released once.
WITH input AS (
    SELECT *
    FROM unnest($1::bigint[], $2::integer[], $3::text[], $4::text[], $5::timestamptz[],
                $6::text[], $7::text[], $8::text[], $9::text[], $10::timestamptz[],
                $11::timestamptz[], $12::text[], $13::text[])
        AS i(job_id, attempt, worker_id, job_state, next_run_at,
             outcome, error_code, error_class, message, started_at,
             finished_at, trace_id, error_chain)
),
finished AS (
    UPDATE herald.jobs AS j
    SET state = i.job_state,
        run_at = coalesce(i.next_run_at, j.run_at),
        locked_by = NULL,
        claimed_at = NULL,
        heartbeat_at = NULL,
        finished_at = CASE WHEN i.job_state IN ('succeeded', 'dead', 'cancelled') THEN i.finished_at END,
        last_error_code = i.error_code,
        cancel_requested_at = NULL
    FROM input AS i
    WHERE j.id = i.job_id
      AND j.attempt = i.attempt
      AND coalesce(j.state, '') = 'running'
      AND j.locked_by = i.worker_id
      -- An attempt being cancelled (herald.cancel_requests) never puts its job back to
      -- run: such a row does not apply, the job stays running, and the rescue of its
      -- lease ends it `cancelled`. Read from the job row, which this statement re-reads
      -- after waiting for a concurrent cancel's lock.
      AND (j.cancel_requested_at IS NULL OR i.job_state NOT IN ('retrying', 'pending'))
    RETURNING j.id, j.job_type, j.queue, j.batch_id, j.state, j.flow_key
),
freed AS MATERIALIZED (
    SELECT l.key, count(*) AS n
    FROM finished AS f
    JOIN herald.flow_limits AS l
      ON l.key = ANY(ARRAY[f.job_type, f.flow_key]) AND l.max_running IS NOT NULL
    GROUP BY l.key
),
slots_locked AS MATERIALIZED (
    SELECT l.key, fr.n
    FROM herald.flow_limits AS l
    JOIN freed AS fr ON fr.key = l.key
    ORDER BY l.key
    FOR UPDATE OF l
),
slots AS (
    UPDATE herald.flow_limits AS l
    SET running = greatest(0, l.running - k.n)
    FROM slots_locked AS k
    WHERE l.key = k.key
),
settled AS (
    SELECT f.batch_id,
           count(*) FILTER (WHERE f.state = 'succeeded') AS ok,
           count(*) FILTER (WHERE f.state = 'dead') AS died,
           count(*) FILTER (WHERE f.state = 'cancelled') AS cancelled
    FROM finished AS f
    WHERE f.batch_id IS NOT NULL AND f.state IN ('succeeded', 'dead', 'cancelled')
    GROUP BY f.batch_id
),
locked AS MATERIALIZED (
    SELECT b.id, s.ok, s.died, s.cancelled,
           b.completed_at IS NULL
               AND b.succeeded + b.dead + b.cancelled + s.ok + s.died + s.cancelled >= b.total
               AS complete,
           b.succeeded_at IS NULL AND b.succeeded + s.ok >= b.total AS success,
           b.died_at IS NULL AND s.died > 0 AS death
    FROM settled AS s
    JOIN herald.batches AS b ON b.id = s.batch_id
    ORDER BY b.id
    FOR UPDATE OF b
),
counted AS (
    UPDATE herald.batches AS b
    SET succeeded = b.succeeded + l.ok,
        dead = b.dead + l.died,
        cancelled = b.cancelled + l.cancelled,
        completed_at = CASE WHEN l.complete THEN clock_timestamp() ELSE b.completed_at END,
        succeeded_at = CASE WHEN l.success THEN clock_timestamp() ELSE b.succeeded_at END,
        died_at = CASE WHEN l.death THEN clock_timestamp() ELSE b.died_at END
    FROM locked AS l
    WHERE b.id = l.id
    RETURNING b.id, l.complete, l.success, l.death
),
released AS (
    UPDATE herald.jobs AS w
    SET state = 'pending', run_at = now()
    FROM herald.batch_waiters AS bw
    JOIN counted AS c ON c.id = bw.batch_id
    WHERE w.id = bw.job_id
      AND w.state = 'waiting'
      AND CASE bw.on_event WHEN 'complete' THEN c.complete
                           WHEN 'success' THEN c.success
                           ELSE c.death END
    RETURNING w.id
),
held AS (
    INSERT INTO herald.workflow_events
        (job_id, batch_id, event, upstream_job_id, upstream_error_code, message)
    SELECT bw.job_id, f.batch_id, 'held', f.id, i.error_code,
           CASE WHEN f.state = 'dead'
                THEN 'held: batch member ' || f.id || ' died with ' || coalesce(i.error_code, 'no error code')
                ELSE 'held: batch member ' || f.id || ' was cancelled while it ran'
           END || '; replaying it resumes this job'
    FROM finished AS f
    JOIN input AS i ON i.job_id = f.id
    JOIN herald.batch_waiters AS bw ON bw.batch_id = f.batch_id AND bw.on_event = 'success'
    JOIN herald.jobs AS w ON w.id = bw.job_id AND w.state = 'waiting'
    WHERE f.batch_id IS NOT NULL AND f.state IN ('dead', 'cancelled')
),
-- A batch that succeeds can never have a death (only dead and cancelled members are
-- replayed): its death callbacks end `cancelled`, each with a `skipped` record naming
-- the member whose finish made the batch succeed, instead of waiting forever.
skipped AS (
    UPDATE herald.jobs AS w
    SET state = 'cancelled', finished_at = now()
    FROM herald.batch_waiters AS bw
    JOIN counted AS c ON c.id = bw.batch_id AND c.success
    WHERE w.id = bw.job_id AND bw.on_event = 'death' AND w.state = 'waiting'
    RETURNING w.id, bw.batch_id
),
skipped_records AS (
    INSERT INTO herald.workflow_events
        (job_id, batch_id, event, upstream_job_id, upstream_error_code, message)
    SELECT s.id, s.batch_id, 'skipped', m.id, NULL,
           'skipped: batch ' || s.batch_id || ' succeeded (last member ' || m.id
           || '), so its death callback will not run'
    FROM skipped AS s
    CROSS JOIN LATERAL (SELECT max(f.id) AS id FROM finished AS f
                        WHERE f.batch_id = s.batch_id) AS m
)
INSERT INTO herald.attempts
    (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms,
     outcome, job_state, error_code, error_class, message, next_run_at, trace_id,
     error_chain)
SELECT i.job_id, f.job_type, f.queue, i.attempt, i.worker_id, i.started_at, i.finished_at,
       greatest(0, (extract(epoch FROM i.finished_at - i.started_at) * 1000)::integer),
       i.outcome, i.job_state, i.error_code, i.error_class, i.message, i.next_run_at,
       i.trace_id, i.error_chain
FROM finished AS f
JOIN input AS i ON i.job_id = f.id
RETURNING job_id
