-- Jobs by queue and state, one row per queue (names in order): the states that need work
-- or attention, with `scheduled` = pending with a future run time, and `waiting` (a
-- workflow's callbacks and chain steps not yet released). Finished history
-- (succeeded, cancelled) is left out, as in telemetry/queue_depth.sql: it only grows.
-- Queues that live workers serve, or that are paused, but that hold no such job are
-- listed with zeros; `workers` counts the live workers serving each queue; `state` is
-- `paused` while a row of herald.queue_pauses names the queue (with its when, who, why),
-- else `active`.
WITH depth AS (
    SELECT queue,
           count(*) FILTER (WHERE state = 'pending' AND run_at <= now()) AS pending,
           count(*) FILTER (WHERE state = 'pending' AND run_at > now()) AS scheduled,
           count(*) FILTER (WHERE state = 'running') AS running,
           count(*) FILTER (WHERE state = 'retrying') AS retrying,
           count(*) FILTER (WHERE state = 'dead') AS dead
    FROM herald.jobs
    WHERE state IN ('pending', 'running', 'retrying', 'dead')
    GROUP BY queue
), waiting AS (
    -- Workflow callbacks and chain steps not yet released (jobs_waiting_queue_idx).
    SELECT queue, count(*) AS waiting
    FROM herald.jobs
    WHERE state = 'waiting'
    GROUP BY queue
), served AS (
    SELECT q.queue, count(*) AS workers
    FROM herald.workers AS w CROSS JOIN LATERAL unnest(w.queues) AS q(queue)
    WHERE w.stopped_at IS NULL
    GROUP BY q.queue
), names AS (
    SELECT queue FROM depth
    UNION SELECT queue FROM waiting
    UNION SELECT queue FROM served
    UNION SELECT queue FROM herald.queue_pauses
)
SELECT n.queue AS "queue!",
       CASE WHEN p.queue IS NULL THEN 'active' ELSE 'paused' END AS "state!",
       coalesce(d.pending, 0) AS "pending!", coalesce(d.scheduled, 0) AS "scheduled!",
       coalesce(d.running, 0) AS "running!", coalesce(d.retrying, 0) AS "retrying!",
       coalesce(d.dead, 0) AS "dead!", coalesce(wt.waiting, 0) AS "waiting!",
       coalesce(s.workers, 0) AS "workers!",
       p.paused_at AS "paused_at?: StoredTime", p.paused_by AS "paused_by?",
       p.reason AS "pause_reason?"
FROM names AS n
LEFT JOIN depth AS d ON d.queue = n.queue
LEFT JOIN waiting AS wt ON wt.queue = n.queue
LEFT JOIN served AS s ON s.queue = n.queue
LEFT JOIN herald.queue_pauses AS p ON p.queue = n.queue
ORDER BY 1
