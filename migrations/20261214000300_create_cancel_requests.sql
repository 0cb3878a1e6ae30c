-- Cancelling a running job (issue 15, `herald cancel` of a running job).
--
-- A running job cannot be cancelled by changing its row: its worker holds it and will
-- write its attempt's end. So the cancel statement records a request here, for the
-- attempt running when it committed, in the same statement as the operator action. The
-- request is the authority, checked three ways:
--   * the trigger below notifies `herald_control` with `cancel:<job id>:<attempt>` at
--     commit: the worker holding the job signals its handler at once;
--   * every lease heartbeat returns the requests pending for the jobs it renews, so a
--     missed notification or a reconnect delays the signal by one heartbeat, no more;
--   * the rescue of an expired lease ends a job with a request as `cancelled` instead of
--     retrying it, so a job whose worker is gone still ends, and is never rerun.
-- Keyed by (job, attempt): a request never touches a later attempt (after a replay).
-- Deleted with its job (purge, retention); the operator action keeps the record.
CREATE TABLE herald.cancel_requests (
    job_id       bigint      NOT NULL REFERENCES herald.jobs (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL CHECK (actor <> ''),
    reason       text,
    PRIMARY KEY (job_id, attempt)
);

-- The job row carries the fact of a pending request too, for one reason: the finish
-- statement must see it. A finish that waited for the cancel statement's row lock
-- re-reads the job row after that commit, but reads other tables with its older
-- snapshot, so only a column of herald.jobs lets it refuse to write `retrying` or
-- `pending` (which would run the job again) for an attempt being cancelled. Set by the
-- cancel statement, cleared by every finish and by a direct cancel. Nullable without
-- default: added without rewriting the table.
ALTER TABLE herald.jobs ADD COLUMN cancel_requested_at timestamptz;

CREATE FUNCTION herald.notify_cancel_request() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_control', 'cancel:' || NEW.job_id || ':' || NEW.attempt);
    RETURN NULL;
END
$$;

CREATE TRIGGER cancel_requests_notify AFTER INSERT ON herald.cancel_requests
    FOR EACH ROW EXECUTE FUNCTION herald.notify_cancel_request();

-- The audit outcome `cancelled`: an attempt stopped by an operator. NOT VALID, so the
-- audit table is not scanned under this migration's lock; the next migration validates
-- it under a lock that lets reads and writes through.
ALTER TABLE herald.attempts DROP CONSTRAINT attempts_outcome_check;
ALTER TABLE herald.attempts ADD CONSTRAINT attempts_outcome_check
    CHECK (outcome IN ('succeeded', 'retrying', 'dead', 'abandoned', 'interrupted', 'cancelled'))
    NOT VALID;

-- Operators cancel running jobs: the profile of 20261212000100 plus SELECT and INSERT on
-- herald.cancel_requests. Producers get nothing here.
CREATE OR REPLACE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events, herald.maintenance_runs, herald.maintenance_leader, herald.queue_pauses, herald.batches, herald.batch_waiters, herald.workflow_events, herald.flow_limits, herald.cancel_requests TO %I',
        role_name);
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
    EXECUTE format('GRANT INSERT, DELETE ON herald.queue_pauses TO %I', role_name);
    EXECUTE format('GRANT UPDATE ON herald.batches TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT ON herald.cancel_requests TO %I', role_name);
    -- Restated from migrations/20261214000200_create_flow_limits.sql (limits, the
    -- workflow records a cancel writes, the console).
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON herald.flow_limits TO %I', role_name);
    EXECUTE format('GRANT INSERT ON herald.workflow_events TO %I', role_name);
    EXECUTE format('GRANT SELECT ON herald.console_users TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON herald.console_sessions TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT ON herald.console_events TO %I', role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
