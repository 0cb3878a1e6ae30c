-- Fleet-wide rate limits and concurrency caps per key (issue 15, `herald limits`).
--
-- A job carries a flow key (`herald.jobs.flow_key`, set at enqueue: `Job::flow_key` in
-- Rust; for `notify.webhook` the destination's `host[:port]`, derived here by a trigger
-- so every insert path agrees, SQL's `herald.enqueue()` included). A limit row in
-- `herald.flow_limits` binds to a key: it applies to every job whose type or whose flow
-- key equals it. The claim statement (worker/queries/queue/claim.sql) enforces it:
--
--   rate: a token bucket (`rate` tokens a second, at most `burst` kept); a claim spends
--         one token per job it takes, refilling from `refilled_at` first.
--   cap:  `running` counts the key's running jobs; a claim adds what it takes, the
--         finish statement (and release) subtracts what ends. At most `max_running`.
--
-- The claim locks the limit rows it uses (in key order) and reads them fresh, so
-- concurrent claims on many workers never overspend. A job over its limit is not
-- claimed: it waits in the queue. `held_until` is when the bucket next holds a whole
-- token (NULL when it does), so claims skip held keys' jobs and idle workers sleep until
-- then (worker/queries/queue/next_due.sql).
ALTER TABLE herald.jobs ADD COLUMN flow_key text;

CREATE TABLE herald.flow_limits (
    key         text             PRIMARY KEY CHECK (key <> ''),
    rate        double precision CHECK (rate > 0 AND rate < 1e9),
    burst       integer          CHECK (burst >= 1),
    max_running integer          CHECK (max_running >= 1),
    tokens      double precision NOT NULL DEFAULT 0,
    refilled_at timestamptz      NOT NULL DEFAULT now(),
    held_until  timestamptz,
    running     integer          NOT NULL DEFAULT 0,
    set_at      timestamptz      NOT NULL DEFAULT now(),
    set_by      text             NOT NULL CHECK (set_by <> ''),
    reason      text             NOT NULL CHECK (reason <> ''),
    CHECK (rate IS NOT NULL OR max_running IS NOT NULL),
    CHECK ((rate IS NULL) = (burst IS NULL))
);

-- The webhook's flow key: the URL's authority without user info, lower-cased
-- (`hooks.example.com`, `127.0.0.1:8080`). NULL when the URL does not parse that far
-- (the job then fails its own validation when it runs).
CREATE FUNCTION herald.webhook_flow_key(url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN nullif(lower(substring(url FROM '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?([^/?#]+)')), '');

CREATE FUNCTION herald.set_webhook_flow_key() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.flow_key := herald.webhook_flow_key(NEW.payload ->> 'url');
    RETURN NEW;
END
$$;

-- Only webhooks without a key pay for the call (the WHEN clause is checked inline).
CREATE TRIGGER jobs_webhook_flow_key BEFORE INSERT ON herald.jobs
    FOR EACH ROW WHEN (NEW.job_type = 'notify.webhook' AND NEW.flow_key IS NULL)
    EXECUTE FUNCTION herald.set_webhook_flow_key();

-- Wakes every worker (`limit:<key>` on `herald_control`) when a key's jobs may become
-- claimable without any job changing: a cap frees a slot, or a limit is changed or
-- removed. Rate-held keys need none: idle workers sleep until `held_until`.
CREATE FUNCTION herald.notify_flow_limit() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_control', 'limit:' || OLD.key);
    RETURN NULL;
END
$$;

CREATE TRIGGER flow_limits_freed AFTER UPDATE ON herald.flow_limits
    FOR EACH ROW WHEN (OLD.running >= OLD.max_running AND NEW.running < NEW.max_running
                       OR OLD.set_at IS DISTINCT FROM NEW.set_at)
    EXECUTE FUNCTION herald.notify_flow_limit();

CREATE TRIGGER flow_limits_removed AFTER DELETE ON herald.flow_limits
    FOR EACH ROW EXECUTE FUNCTION herald.notify_flow_limit();

-- Setting and removing a limit are operator actions (the key and the settings in
-- `filter`). The table is small, so the new CHECK is validated at once.
ALTER TABLE herald.operator_actions DROP CONSTRAINT operator_actions_action_check;
ALTER TABLE herald.operator_actions ADD CONSTRAINT operator_actions_action_check
    CHECK (action IN ('replay', 'cancel', 'purge', 'alert', 'pause', 'resume',
                      'limit_set', 'limit_remove'));

-- Operators set and remove limits: the profile of 20261212000100 plus SELECT, INSERT,
-- UPDATE and DELETE on herald.flow_limits.
CREATE OR REPLACE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events, herald.maintenance_runs, herald.maintenance_leader, herald.queue_pauses, herald.batches, herald.batch_waiters, herald.workflow_events, herald.flow_limits TO %I',
        role_name);
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
    EXECUTE format('GRANT INSERT, DELETE ON herald.queue_pauses TO %I', role_name);
    EXECUTE format('GRANT UPDATE ON herald.batches TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON herald.flow_limits TO %I', role_name);
    -- A cancel ends a batch member's dependents with a record in their trails.
    EXECUTE format('GRANT INSERT ON herald.workflow_events TO %I', role_name);
    -- The console (migrations/20261214000100_grant_console_to_operator.sql).
    EXECUTE format('GRANT SELECT ON herald.console_users TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON herald.console_sessions TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT ON herald.console_events TO %I', role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
