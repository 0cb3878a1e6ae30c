-- Workflows: batches of jobs with callbacks (Sidekiq Pro's complete / success / death).
--
-- A batch is a row of counters in herald.batches; its members are ordinary jobs whose
-- `batch_id` names it. Its callbacks are jobs enqueued with the batch in the new state
-- `waiting` (never claimed: the claim takes only pending and retrying rows), each named
-- in herald.batch_waiters with the event it waits for. The statement that records a
-- member's final attempt (worker/queries/audit/finish_attempts.sql, also used by
-- rescue) adds the member to its batch's counters and, when that crosses a threshold,
-- stamps the event's time and makes its waiters `pending`: the state change, the audit
-- row, the counters and the callbacks commit together or not at all. The batch row is
-- locked for that (in id order, so two finishers never deadlock), so exactly one
-- statement sees each event's time still NULL: each callback is released exactly once.
--
-- Events (each fires at most once; its time column says when):
--   complete  every member settled (succeeded or dead)          completed_at
--   success   every member succeeded                            succeeded_at
--   death     the first member died                             died_at
-- A success waiter whose batch has a dead member stays `waiting` (HELD, not ended), with
-- a row in herald.workflow_events naming the dead member and its error code; replaying
-- the dead member (`herald replay`, which takes it back out of `dead`) lets the batch
-- succeed later and release it. A chain is a batch of one whose success waiter is the
-- next step (itself a batch of one, and so on).
CREATE TABLE herald.batches (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    total        integer     NOT NULL CHECK (total >= 1),
    -- Members now succeeded / now dead (replay takes a dead member back out).
    succeeded    integer     NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    dead         integer     NOT NULL DEFAULT 0 CHECK (dead >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    succeeded_at timestamptz,
    died_at      timestamptz,
    -- A label for people (`herald workflows show`), e.g. the campaign's name.
    description  text
);
-- Counters churn on every member's finish: leave room for HOT updates.
ALTER TABLE herald.batches SET (fillfactor = 50);
-- Batches not yet complete: what the progress gauges read at every scrape
-- (worker/queries/telemetry/batch_progress.sql), however many have completed.
CREATE INDEX batches_open_idx ON herald.batches (id) WHERE completed_at IS NULL;

-- One row per callback job: the batch it waits on and the event that releases it.
CREATE TABLE herald.batch_waiters (
    job_id   bigint PRIMARY KEY,
    batch_id bigint NOT NULL REFERENCES herald.batches (id) ON DELETE CASCADE,
    on_event text   NOT NULL CHECK (on_event IN ('complete', 'success', 'death'))
);
CREATE INDEX batch_waiters_batch_idx ON herald.batch_waiters (batch_id, on_event);

-- What happened to a job because of another job (its workflow trail beside its audit
-- rows, which record attempts only): `held` names the upstream job that died and its
-- error code. No foreign key, like herald.attempts: the trail outlives pruning.
CREATE TABLE herald.workflow_events (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id              bigint      NOT NULL,
    batch_id            bigint      NOT NULL,
    at                  timestamptz NOT NULL DEFAULT now(),
    event               text        NOT NULL CHECK (event IN ('held')),
    upstream_job_id     bigint      NOT NULL,
    upstream_error_code text,
    message             text        NOT NULL
);
CREATE INDEX workflow_events_job_idx ON herald.workflow_events (job_id);

-- NULL for every job outside a workflow: a null bit, nothing written to the partial
-- index, and the finish statement's batch steps find no row and cost nothing.
ALTER TABLE herald.jobs ADD COLUMN batch_id bigint;
CREATE INDEX jobs_batch_idx ON herald.jobs (batch_id) WHERE batch_id IS NOT NULL;

-- `waiting`: a callback (or a chain's next step) not yet released. NOT VALID so this
-- migration holds its ACCESS EXCLUSIVE lock only for the catalogue change; the next
-- migration validates under a lock that lets reads and writes through.
ALTER TABLE herald.jobs DROP CONSTRAINT jobs_state_check;
ALTER TABLE herald.jobs ADD CONSTRAINT jobs_state_check
    CHECK (state IN ('pending', 'running', 'retrying', 'succeeded', 'dead', 'cancelled',
                     'waiting')) NOT VALID;

-- herald.enqueue_batch(members, on_complete, on_success, on_death, description):
-- enqueues a whole batch in the caller's transaction; returns the batch id.
--   members      a non-empty JSON array of jobs; each an object with job_type and
--                payload, optional queue, priority, max_attempts, run_at (as for
--                herald.enqueue(), which validates each: HR001-HR004). Idempotency keys
--                are refused (HR004): a member must be a new job of this batch.
--   on_complete, on_success, on_death   NULL, one job object, or an array of them:
--                enqueued `waiting`, released when the event fires.
CREATE FUNCTION herald.enqueue_batch(
    members     jsonb,
    on_complete jsonb DEFAULT NULL,
    on_success  jsonb DEFAULT NULL,
    on_death    jsonb DEFAULT NULL,
    description text  DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    the_batch bigint;
    member    jsonb;
    new_id    bigint;
    waiting   record;
BEGIN
    IF members IS NULL OR jsonb_typeof(members) <> 'array' OR jsonb_array_length(members) = 0 THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid members: must be a non-empty JSON array of jobs'
            USING ERRCODE = 'HR004';
    END IF;
    INSERT INTO herald.batches (total, description)
    VALUES (jsonb_array_length(members), enqueue_batch.description)
    RETURNING id INTO the_batch;
    FOR member IN SELECT * FROM jsonb_array_elements(members) LOOP
        new_id := herald.enqueue_batch_job(member);
        UPDATE herald.jobs SET batch_id = the_batch WHERE id = new_id;
    END LOOP;
    FOR waiting IN
        SELECT e.on_event, j.job
        FROM (VALUES ('complete', on_complete), ('success', on_success), ('death', on_death))
             AS e(on_event, spec),
             LATERAL jsonb_array_elements(
                 CASE WHEN jsonb_typeof(e.spec) = 'array' THEN e.spec ELSE jsonb_build_array(e.spec) END
             ) AS j(job)
        WHERE e.spec IS NOT NULL AND jsonb_typeof(e.spec) <> 'null'
    LOOP
        new_id := herald.enqueue_batch_job(waiting.job);
        UPDATE herald.jobs SET state = 'waiting' WHERE id = new_id;
        INSERT INTO herald.batch_waiters (job_id, batch_id, on_event)
        VALUES (new_id, the_batch, waiting.on_event);
    END LOOP;
    RETURN the_batch;
END
$$;

-- One job of a batch through herald.enqueue() (its validation and errors), without an
-- idempotency key. Not callable by producers on its own.
CREATE FUNCTION herald.enqueue_batch_job(job jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF job IS NULL OR jsonb_typeof(job) <> 'object' THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid job: each must be a JSON object'
            USING ERRCODE = 'HR004';
    END IF;
    IF job ? 'idempotency_key' THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid idempotency_key: a batch''s jobs cannot have one'
            USING ERRCODE = 'HR004';
    END IF;
    RETURN herald.enqueue(
        job_type     => job ->> 'job_type',
        payload      => job -> 'payload',
        run_at       => coalesce((job ->> 'run_at')::timestamptz, now()),
        priority     => coalesce((job ->> 'priority')::integer, 0),
        max_attempts => (job ->> 'max_attempts')::integer,
        queue        => job ->> 'queue')::bigint;
END
$$;

REVOKE EXECUTE ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text),
                           herald.enqueue_batch_job(jsonb) FROM PUBLIC;
COMMENT ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text) IS
    'Enqueues a batch of jobs with complete/success/death callbacks; returns the batch id. SQLSTATE as herald.enqueue(), HR004 for a malformed batch.';

-- Producers may enqueue batches; operators read them (herald workflows show) and replay
-- changes a dead member's batch counters. The operator keeps the pause grants of
-- 20261211000100 (this replaces the function it wrote).
CREATE OR REPLACE FUNCTION herald.grant_producer(role_name text) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA herald TO %I', role_name);
    EXECUTE format(
        'GRANT EXECUTE ON FUNCTION herald.enqueue(text, jsonb, timestamptz, integer, integer, text, text) TO %I',
        role_name);
    EXECUTE format(
        'GRANT EXECUTE ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text) TO %I',
        role_name);
END
$$;

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
REVOKE EXECUTE ON FUNCTION herald.grant_producer(text), herald.grant_operator(text) FROM PUBLIC;
