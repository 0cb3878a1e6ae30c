-- The audit log, newest first: operator actions (herald.operator_actions) merged with
-- failure-rate alert transitions (herald.alert_events, shown as action 'alert', the
-- worker that saw it as actor). Action $1 (NULL = any), actor $2 (NULL = any), at or
-- after $3 (NULL = all time), at most $4 rows. Each branch is limited on its own first
-- (served by operator_actions_at_idx / alert_events_occurred_at), so the merge reads at
-- most 2 × $4 rows.
SELECT kind AS "kind!", id AS "id!", at AS "at!: StoredTime", actor AS "actor!",
       action AS "action!", reason, filter AS "filter!", job_count AS "job_count!",
       job_ids AS "job_ids!"
FROM (
    (SELECT 'operator_action' AS kind, id, at, actor, action, reason, filter, job_count,
            job_ids
     FROM herald.operator_actions
     WHERE ($1::text IS NULL OR action = $1)
       AND ($2::text IS NULL OR actor = $2)
       AND ($3::timestamptz IS NULL OR at >= $3)
     ORDER BY at DESC, id DESC
     LIMIT $4)
    UNION ALL
    (SELECT 'alert_event', id, occurred_at, worker_id, 'alert',
            format('%s %s: %s%% of %s attempts failed over %ss (threshold %s%%)',
                   alert, transition, round((failure_rate * 100)::numeric, 2), attempts,
                   round(window_seconds::numeric), round((threshold * 100)::numeric, 2)),
            jsonb_build_object('alert', alert, 'scope', scope, 'transition', transition,
                               'severity', severity, 'failure_rate', failure_rate,
                               'attempts', attempts, 'failures', failures,
                               'threshold', threshold, 'window_seconds', window_seconds),
            0::bigint, '{}'::bigint[]
     FROM herald.alert_events
     WHERE ($1::text IS NULL OR $1 = 'alert')
       AND ($2::text IS NULL OR worker_id = $2)
       AND ($3::timestamptz IS NULL OR occurred_at >= $3)
     ORDER BY occurred_at DESC, id DESC
     LIMIT $4)
) AS log
ORDER BY at DESC, id DESC
LIMIT $4
