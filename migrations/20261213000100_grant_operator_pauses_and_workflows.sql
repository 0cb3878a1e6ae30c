-- herald.grant_operator() as of both migrations that replaced it on parallel branches:
-- 20261211000100 (queue pauses: read, pause, resume) and 20261212000100 (workflows: read
-- batches, their waiters and workflow records; replay changes a dead member's batch
-- counters). Each wrote the function without the other's grants; the later one, applied
-- last, would have dropped the pause grants. This states the whole set once more.
-- Roles granted before this migration keep what they were granted; run
-- `SELECT herald.grant_operator('role')` again to add the rest.
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
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
