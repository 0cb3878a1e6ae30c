-- Self-maintaining storage, first increment (issue 19): the maintenance leader's lease,
-- the record of every pruning run, and the retention age lookup the pruning statements
-- and `herald retention` share. Nothing here touches herald.jobs or herald.attempts.

-- The maintenance leader: at most one row per duty ('maintenance'). A worker becomes
-- leader by inserting the row, or by taking it over once `expires_at` has passed (its
-- holder died or stalled); it renews `expires_at` in every pruning transaction, so a
-- pruning batch holds this row's lock and a contender's takeover waits for it (no two
-- workers ever delete at once). A clean shutdown deletes the row (immediate handover).
-- A row, not an advisory lock: it survives transaction-mode connection poolers, and
-- operators see who leads (`herald retention`, or SELECT * FROM herald.maintenance_leader).
CREATE TABLE herald.maintenance_leader (
    duty       text        PRIMARY KEY CHECK (duty <> ''),
    holder     text        NOT NULL CHECK (holder <> ''),
    elected_at timestamptz NOT NULL,
    renewed_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

-- One row per pruning run, written as it goes: created when the run starts, its counts
-- updated in the same transaction as each batch's deletions (so even a run cut short by
-- a SIGKILL records exactly what it removed), closed with its outcome.
--   running          in progress (or its worker died: the next leader marks it abandoned)
--   completed        every class pruned down to its policy
--   interrupted      the worker shut down between batches
--   lost_leadership  its lease was taken over (e.g. the worker stalled past it)
--   failed           a database error ended it (`error`)
--   abandoned        its worker died mid-run; `finished_at` = its last committed batch
-- `policy`: the retention ages in force, in seconds (see worker/src/maintenance/policy.rs).
CREATE TABLE herald.maintenance_runs (
    id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    worker_id                text        NOT NULL,
    started_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    finished_at              timestamptz,
    outcome                  text        NOT NULL DEFAULT 'running'
        CHECK (outcome IN ('running', 'completed', 'interrupted', 'lost_leadership', 'failed', 'abandoned')),
    error                    text,
    policy                   jsonb       NOT NULL CHECK (jsonb_typeof(policy) = 'object'),
    batches                  integer     NOT NULL DEFAULT 0,
    jobs_succeeded           bigint      NOT NULL DEFAULT 0,
    jobs_dead                bigint      NOT NULL DEFAULT 0,
    jobs_cancelled           bigint      NOT NULL DEFAULT 0,
    attempts_removed         bigint      NOT NULL DEFAULT 0,
    operator_actions_removed bigint      NOT NULL DEFAULT 0,
    runs_removed             bigint      NOT NULL DEFAULT 0,
    oldest_job_id            bigint,
    oldest_finished_at       timestamptz,
    newest_job_id            bigint,
    newest_finished_at       timestamptz
);
CREATE INDEX maintenance_runs_started_at_idx ON herald.maintenance_runs (started_at);

-- The retention age of `class` ('succeeded', 'dead', 'cancelled', 'failed_attempts',
-- 'operator_actions', 'maintenance_runs') for `queue` under `policy`: the queue's
-- override when it has one, else the class's default. Ages are whole or fractional
-- seconds. NULL when the policy does not name the class.
CREATE FUNCTION herald.retention_age(policy jsonb, class text, queue text) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT make_interval(secs => coalesce(policy -> 'queues' -> queue ->> class,
                                          policy ->> class)::double precision)
$$;

-- Operators read the new tables (`herald retention`); only workers write them.
-- Same profile as before plus SELECT on the maintenance tables.
CREATE OR REPLACE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events, herald.maintenance_runs, herald.maintenance_leader TO %I',
        role_name);
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
