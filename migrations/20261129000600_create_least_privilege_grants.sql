-- Least privilege. Roles are cluster-wide, so Herald does not create them: a DBA creates
-- a login role, then grants it one of these profiles (idempotent):
--
--   SELECT herald.grant_producer('orders_service');  -- may only call herald.enqueue()
--   SELECT herald.grant_operator('oncall');          -- the operator CLI: read, replay,
--                                                    -- cancel, purge, audit; no DDL
--
-- herald.enqueue() runs with its owner's rights (SECURITY DEFINER, fixed search_path),
-- so a producer needs no privilege on any table, and EXECUTE is no longer granted to
-- every role by default.
ALTER FUNCTION herald.enqueue(text, jsonb, timestamptz, integer, integer, text, text)
    SECURITY DEFINER;
REVOKE EXECUTE ON FUNCTION herald.enqueue(text, jsonb, timestamptz, integer, integer, text, text)
    FROM PUBLIC;

CREATE FUNCTION herald.grant_producer(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT EXECUTE ON FUNCTION herald.enqueue(text, jsonb, timestamptz, integer, integer, text, text) TO %I',
        role_name);
END
$$;

CREATE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events TO %I',
        role_name);
    -- replay and cancel change jobs; purge deletes finished jobs (and, when asked, their
    -- audit rows); every action is recorded in operator_actions.
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
END
$$;

REVOKE EXECUTE ON FUNCTION herald.grant_producer(text), herald.grant_operator(text) FROM PUBLIC;
