-- What a pruning run would remove now under policy $1 (the JSON of
-- herald_worker::maintenance::policy_json, read by herald.retention_age exactly as the
-- worker's pruning statements read it): per class, how many rows and the oldest one's
-- time. `audit_rows`: the audit rows that would go with their CLOSED partition of
-- herald.attempts (herald.prune_attempt_partition): rows whose job is gone or pruned by
-- this run and that are past their own age, counted only for partitions that would be
-- dropped (every row goes) or compacted (at least half go: COMPACT_SHARE in
-- worker/src/maintenance/audit_trail.rs). Counts every matching row: on a very large
-- history it reads the finished jobs and the closed partitions once.
WITH prunable_jobs AS (
    SELECT j.id, j.state, j.finished_at
    FROM herald.jobs AS j
    WHERE j.state IN ('succeeded', 'dead', 'cancelled')
      AND j.finished_at < now() - herald.retention_age($1, j.state, j.queue)
),
closed AS (
    SELECT ('herald.' || quote_ident(p.name))::regclass AS part
    FROM herald.attempt_partitions() AS p
    WHERE p.upper_bound <= herald.audit_closed_below()
),
closed_rows AS (
    SELECT a.tableoid AS part, a.finished_at,
           (j.id IS NULL OR p.id IS NOT NULL)
           AND coalesce(a.finished_at < now() - herald.retention_age(
                   $1, CASE WHEN a.outcome = 'succeeded' THEN 'succeeded' ELSE 'failed_attempts' END,
                   a.queue), false) AS goes
    FROM herald.attempts AS a
    LEFT JOIN herald.jobs AS j ON j.id = a.job_id
    LEFT JOIN prunable_jobs AS p ON p.id = a.job_id
    WHERE a.tableoid IN (SELECT part FROM closed)
),
per_partition AS (
    SELECT count(*) FILTER (WHERE goes) AS going, count(*) AS total,
           min(finished_at) FILTER (WHERE goes) AS oldest
    FROM closed_rows
    GROUP BY part
)
SELECT s.state AS "class!", count(p.id) AS "rows!", min(p.finished_at) AS "oldest?: StoredTime"
FROM unnest(ARRAY['succeeded', 'dead', 'cancelled']) AS s(state)
LEFT JOIN prunable_jobs AS p ON p.state = s.state
GROUP BY s.state
UNION ALL
SELECT 'audit_rows', coalesce(sum(going), 0)::bigint, min(oldest)
FROM per_partition
WHERE going > 0 AND (going = total OR going >= 0.5 * total)
UNION ALL
SELECT 'operator_actions', count(*), min(at)
FROM herald.operator_actions
WHERE at < now() - herald.retention_age($1, 'operator_actions', NULL)
UNION ALL
SELECT 'maintenance_runs', count(*), min(finished_at)
FROM herald.maintenance_runs
WHERE finished_at < now() - herald.retention_age($1, 'maintenance_runs', NULL)
