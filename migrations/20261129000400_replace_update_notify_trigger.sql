-- The statement-level AFTER UPDATE trigger (REFERENCING NEW TABLE) materialised a
-- transition table and ran a query on it for EVERY update of herald.jobs, including
-- each claim and each finish batch, which never make a job runnable when they succeed.
-- A row-level trigger whose WHEN clause selects only rows that become runnable costs
-- nothing on claims and successes. pg_notify collapses identical notifications within a
-- transaction, so a batch that makes many jobs of one queue runnable still sends one
-- notification per queue at commit. Inserts keep the statement-level trigger.
DROP TRIGGER jobs_notify_update ON herald.jobs;

CREATE FUNCTION herald.notify_runnable_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_jobs', NEW.queue);
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_runnable_update AFTER UPDATE ON herald.jobs
    FOR EACH ROW WHEN (NEW.state IN ('pending', 'retrying'))
    EXECUTE FUNCTION herald.notify_runnable_row();
