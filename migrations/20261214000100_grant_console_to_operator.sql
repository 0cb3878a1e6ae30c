-- `herald console` can run as an operator role: herald.grant_operator() restated with
-- everything it granted before (20261212000100_create_batches.sql) plus the console's
-- tables. The console reads users (it never adds them: `herald console add-user` is for
-- the owner), opens, reads and ends sessions (expired ones are deleted too), and writes
-- and reads its authentication audit (the failed-login throttle counts it). The audit
-- stays append-only for the operator: no UPDATE or DELETE on herald.console_events.
CREATE OR REPLACE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events, herald.maintenance_runs, herald.maintenance_leader, herald.queue_pauses, herald.batches, herald.batch_waiters, herald.workflow_events TO %I',
        role_name);
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
    EXECUTE format('GRANT INSERT, DELETE ON herald.queue_pauses TO %I', role_name);
    EXECUTE format('GRANT UPDATE ON herald.batches TO %I', role_name);
    -- The console.
    EXECUTE format('GRANT SELECT ON herald.console_users TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT, DELETE ON herald.console_sessions TO %I', role_name);
    EXECUTE format('GRANT SELECT, INSERT ON herald.console_events TO %I', role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
