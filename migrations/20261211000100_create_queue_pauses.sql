-- Fleet-wide pause of a queue (issue 15, `herald queues pause|resume`).
--
-- A row in herald.queue_pauses means its queue is paused. Every worker's claim statement
-- (worker/queries/queue/claim.sql) probes this table by primary key and claims nothing
-- from a paused queue, so the stored state is the authority: a worker that missed the
-- notification, or one started while the queue is paused, cannot claim from it. Resume
-- deletes the row. A table of paused queues only (rather than one row per queue with a
-- state column) keeps the probe for an unpaused queue a miss on a tiny index, and needs no
-- registry of queues, which exist only as names on jobs (a queue may be paused before its
-- first job arrives).
CREATE TABLE herald.queue_pauses (
    queue     text        PRIMARY KEY,
    paused_at timestamptz NOT NULL DEFAULT now(),
    paused_by text        NOT NULL CHECK (paused_by <> ''),
    reason    text        NOT NULL CHECK (reason <> '')
);

-- The notifications that make a pause or a resume take effect within a second, not at
-- the next safety poll. A pause goes on its own channel, `herald_control`, as
-- `pause:<queue>`: workers then give back jobs they claimed but have not started.
-- A resume goes on `herald_jobs` with the queue's name, exactly as jobs becoming
-- runnable do, so idle workers claim at once. Row-level and fired by the table itself,
-- so a pause written with plain SQL notifies too. Both are sent at commit.
CREATE FUNCTION herald.notify_queue_pause() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('herald_control', 'pause:' || NEW.queue);
    ELSE
        PERFORM pg_notify('herald_jobs', OLD.queue);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER queue_pauses_notify AFTER INSERT OR DELETE ON herald.queue_pauses
    FOR EACH ROW EXECUTE FUNCTION herald.notify_queue_pause();

-- Pause and resume are operator actions, recorded in the same log as replay, cancel and
-- purge (job_count 0, the queue in `filter`). The table is small (one row per command),
-- so the new CHECK is validated at once.
ALTER TABLE herald.operator_actions DROP CONSTRAINT operator_actions_action_check;
ALTER TABLE herald.operator_actions ADD CONSTRAINT operator_actions_action_check
    CHECK (action IN ('replay', 'cancel', 'purge', 'alert', 'pause', 'resume'));

-- Operators pause and resume: the profile of 20261208000100 plus SELECT, INSERT and
-- DELETE on herald.queue_pauses. Producers get nothing here.
CREATE OR REPLACE FUNCTION herald.grant_operator(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT SELECT ON herald.jobs, herald.attempts, herald.workers, herald.job_types, herald.operator_actions, herald.alert_events, herald.maintenance_runs, herald.maintenance_leader, herald.queue_pauses TO %I',
        role_name);
    EXECUTE format('GRANT UPDATE, DELETE ON herald.jobs TO %I', role_name);
    EXECUTE format('GRANT DELETE ON herald.attempts TO %I', role_name);
    EXECUTE format('GRANT INSERT, UPDATE ON herald.operator_actions TO %I', role_name);
    EXECUTE format('GRANT INSERT, DELETE ON herald.queue_pauses TO %I', role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_operator(text) FROM PUBLIC;
