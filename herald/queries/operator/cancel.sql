-- Cancels the pending (or scheduled), retrying and waiting jobs among ids $1, and
-- requests the cancellation of the running ones, in ONE statement that also records them
-- all in operator action $5 (`herald.record_operator_action`: created when $5 is NULL,
-- from actor $2, reason $3 and filter $4; extended otherwise). Finished jobs are left
-- alone. Returns the action id (NULL when nothing changed) and the changed ids (cancelled
-- and cancel-requested).
--
-- Running jobs (migrations/20261214000300_create_cancel_requests.sql): a running job
-- stays `running`: its request (herald.cancel_requests, for the attempt running now)
-- reaches the worker holding it (NOTIFY at commit, or its next lease heartbeat), which
-- stops the handler and records the attempt `cancelled` through the finish statement;
-- if that worker is gone, the rescue of its expired lease ends the job `cancelled`. The
-- job row's `cancel_requested_at` is set too, so a finish racing this statement sees it.
-- A second request for the same attempt changes nothing.
--
-- Workflows (migrations/20261214000400_settle_cancelled_batch_members.sql): a cancelled
-- batch member settles. Its batch counts it in `cancelled` (batch rows locked in id
-- order, as the finish statement locks them, so each event is stamped once) and, when
-- that completes the batch, releases its `complete` callbacks. The batch can no longer
-- succeed, so its `success` dependents still waiting (a chain's next step, and that
-- step's own dependents in turn: `downstream`) end `cancelled` too, each with a
-- `cancelled` record naming the job whose cancel ended it; they are recorded in the
-- operator action with the jobs asked for. A cancel never fires `death`. (A running
-- member settles when its attempt is recorded `cancelled`: finish_attempts.sql.)
WITH RECURSIVE target AS (
    SELECT j.id, j.state, j.attempt
    FROM herald.jobs AS j
    WHERE j.id = ANY($1) AND j.state IN ('pending', 'retrying', 'waiting', 'running')
    FOR UPDATE OF j
),
changed AS (
    UPDATE herald.jobs AS j
    SET state = 'cancelled', finished_at = now(), cancel_requested_at = NULL
    FROM target AS t
    WHERE j.id = t.id AND t.state <> 'running'
    RETURNING j.id, j.batch_id
),
flagged AS (
    UPDATE herald.jobs AS j
    SET cancel_requested_at = coalesce(j.cancel_requested_at, now())
    FROM target AS t
    WHERE j.id = t.id AND t.state = 'running'
),
requested AS (
    INSERT INTO herald.cancel_requests (job_id, attempt, actor, reason)
    SELECT t.id, t.attempt, $2, $3
    FROM target AS t
    WHERE t.state = 'running'
    ON CONFLICT (job_id, attempt) DO NOTHING
    RETURNING job_id AS id
),
downstream (job_id, batch_id, upstream_job_id, upstream_batch_id) AS (
    SELECT w.id, w.batch_id, c.id, c.batch_id
    FROM changed AS c
    JOIN herald.batch_waiters AS bw ON bw.batch_id = c.batch_id AND bw.on_event = 'success'
    JOIN herald.jobs AS w ON w.id = bw.job_id AND w.state = 'waiting'
    WHERE w.id <> ALL($1)
    UNION
    SELECT w.id, w.batch_id, d.job_id, d.batch_id
    FROM downstream AS d
    JOIN herald.batch_waiters AS bw ON bw.batch_id = d.batch_id AND bw.on_event = 'success'
    JOIN herald.jobs AS w ON w.id = bw.job_id AND w.state = 'waiting'
    WHERE w.id <> ALL($1)
),
ended AS (
    UPDATE herald.jobs AS w
    SET state = 'cancelled', finished_at = now()
    FROM (SELECT DISTINCT job_id FROM downstream) AS d
    WHERE w.id = d.job_id AND w.state = 'waiting'
    RETURNING w.id, w.batch_id
),
explained AS (
    INSERT INTO herald.workflow_events
        (job_id, batch_id, event, upstream_job_id, upstream_error_code, message)
    SELECT DISTINCT ON (d.job_id) d.job_id, d.upstream_batch_id, 'cancelled', d.upstream_job_id,
           NULL::text,
           'cancelled: batch member ' || d.upstream_job_id
           || ' was cancelled by an operator, so this job, which waited for its success, will not run'
    FROM downstream AS d
    JOIN ended AS e ON e.id = d.job_id
    ORDER BY d.job_id, d.upstream_job_id
),
settled AS (
    SELECT s.batch_id, count(*) AS n
    FROM (SELECT batch_id FROM changed UNION ALL SELECT batch_id FROM ended) AS s
    WHERE s.batch_id IS NOT NULL
    GROUP BY s.batch_id
),
locked AS MATERIALIZED (
    SELECT b.id, s.n,
           b.completed_at IS NULL
               AND b.succeeded + b.dead + b.cancelled + s.n >= b.total AS complete
    FROM settled AS s
    JOIN herald.batches AS b ON b.id = s.batch_id
    ORDER BY b.id
    FOR UPDATE OF b
),
counted AS (
    UPDATE herald.batches AS b
    SET cancelled = b.cancelled + l.n,
        completed_at = CASE WHEN l.complete THEN clock_timestamp() ELSE b.completed_at END
    FROM locked AS l
    WHERE b.id = l.id
    RETURNING b.id, l.complete
),
released AS (
    UPDATE herald.jobs AS w
    SET state = 'pending', run_at = now()
    FROM herald.batch_waiters AS bw
    JOIN counted AS c ON c.id = bw.batch_id AND c.complete
    WHERE w.id = bw.job_id
      AND bw.on_event = 'complete'
      AND w.state = 'waiting'
      AND w.id <> ALL($1)
    RETURNING w.id
),
counted_ids AS (
    SELECT coalesce((SELECT array_agg(id ORDER BY id)
                     FROM (SELECT id FROM changed UNION ALL SELECT id FROM requested) AS a),
                    '{}') AS ids,
           coalesce((SELECT array_agg(id ORDER BY id)
                     FROM (SELECT id FROM changed UNION ALL SELECT id FROM requested
                           UNION ALL SELECT id FROM ended) AS a),
                    '{}') AS recorded
)
SELECT herald.record_operator_action($5, $2, 'cancel', $3, $4, c.recorded) AS action_id,
       c.ids AS "ids!"
FROM counted_ids AS c
