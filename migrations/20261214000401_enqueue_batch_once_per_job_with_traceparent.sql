-- herald.enqueue_batch() writes each job once, and carries a traceparent (issue 16).
--
-- (1) The enqueue rules of herald.enqueue() move into herald.check_new_job(), which
--     herald.enqueue() (restated here, same signature, grants and behaviour) and the batch
--     functions call: one copy of the rules in SQL, the same messages and SQLSTATEs.
-- (2) herald.enqueue_batch() inserts its members with ONE INSERT ... SELECT, each row
--     already carrying its batch id, and each callback once, already `waiting` (the first
--     version enqueued every job through herald.enqueue() and then updated its row: two
--     writes, two index updates and a dead tuple per job).
-- (3) A new last argument, `traceparent` (W3C, NULL = none), stored with every job of the
--     batch, so a workflow enqueued from SQL joins the enqueuer's trace as one enqueued
--     from Rust does (`NewJob::with_current_trace`); a job object's own `traceparent` key
--     overrides it. An invalid one is HR004. The function is dropped and created again
--     with the new signature (a sixth defaulted argument beside the old function would make
--     every five-argument call ambiguous); roles that could execute the old one are
--     granted the new one.

-- (1) The rules, one error per rule (see migration 20261207000100 for the table).
CREATE FUNCTION herald.check_new_job(
    job_type        text,
    payload         jsonb,
    run_at          timestamptz,
    priority        integer,
    max_attempts    integer,
    idempotency_key text,
    queue           text,
    OUT the_queue   text,
    OUT budget      integer
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    known     herald.job_types%ROWTYPE;
    limit_b   bigint;
    size_b    bigint;
BEGIN
    IF job_type IS NULL OR payload IS NULL OR run_at IS NULL OR priority IS NULL THEN
        RAISE EXCEPTION 'herald.enqueue: job_type, payload, run_at and priority must not be NULL'
            USING ERRCODE = 'HR004';
    END IF;
    IF octet_length(job_type) NOT BETWEEN 1 AND 128 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid job_type: must be 1 to 128 bytes, got %',
            octet_length(job_type) USING ERRCODE = 'HR004';
    END IF;
    IF job_type !~ '^[-A-Za-z0-9_.:]+$' THEN
        RAISE EXCEPTION 'herald.enqueue: invalid job_type: may contain only letters A-Z a-z, digits and _ . : -'
            USING ERRCODE = 'HR004';
    END IF;
    SELECT * INTO known FROM herald.job_types AS t WHERE t.job_type = check_new_job.job_type;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'herald.enqueue: unknown job type "%"', job_type
            USING ERRCODE = 'HR001',
                  HINT = 'A job type is known once a worker that runs it has started (see herald.job_types).';
    END IF;
    IF jsonb_typeof(payload) <> 'object' THEN
        RAISE EXCEPTION 'herald.enqueue: payload must be a JSON object, got %', jsonb_typeof(payload)
            USING ERRCODE = 'HR002';
    END IF;
    limit_b := coalesce(nullif(current_setting('herald.max_payload_bytes', true), '')::bigint, 262144);
    size_b := octet_length(payload::text);
    IF size_b > limit_b THEN
        RAISE EXCEPTION 'herald.enqueue: payload is % bytes, over the limit of % bytes', size_b, limit_b
            USING ERRCODE = 'HR003';
    END IF;
    IF priority NOT BETWEEN -32768 AND 32767 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid priority: must be between -32768 and 32767, got %',
            priority USING ERRCODE = 'HR004';
    END IF;
    -- 'infinity' and '-infinity' compare outside any finite range.
    IF NOT (run_at BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-31 23:59:59+00') THEN
        RAISE EXCEPTION 'herald.enqueue: invalid run_at: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z'
            USING ERRCODE = 'HR004';
    END IF;
    budget := coalesce(check_new_job.max_attempts, known.max_attempts);
    IF budget NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid max_attempts: must be between 1 and 1000, got %',
            budget USING ERRCODE = 'HR004';
    END IF;
    the_queue := coalesce(check_new_job.queue, known.queue);
    IF octet_length(the_queue) NOT BETWEEN 1 AND 64 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid queue: must be 1 to 64 bytes, got %',
            octet_length(the_queue) USING ERRCODE = 'HR004';
    END IF;
    IF the_queue !~ '^[-A-Za-z0-9_.:]+$' THEN
        RAISE EXCEPTION 'herald.enqueue: invalid queue: may contain only letters A-Z a-z, digits and _ . : -'
            USING ERRCODE = 'HR004';
    END IF;
    IF octet_length(idempotency_key) NOT BETWEEN 1 AND 255 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid idempotency_key: must be 1 to 255 bytes, got %',
            octet_length(idempotency_key) USING ERRCODE = 'HR004';
    END IF;
    -- The C0 and C1 control characters (U+0001-U+001F, U+007F-U+009F), as Rust's
    -- char::is_control; text cannot hold U+0000.
    IF idempotency_key ~ '[\x01-\x1f\x7f-\x9f]' THEN
        RAISE EXCEPTION 'herald.enqueue: invalid idempotency_key: must not contain control characters'
            USING ERRCODE = 'HR004';
    END IF;

END
$$;
REVOKE EXECUTE ON FUNCTION herald.check_new_job(text, jsonb, timestamptz, integer, integer, text, text)
    FROM PUBLIC;

-- herald.enqueue(), restated on herald.check_new_job(): same signature, same errors.
-- CREATE OR REPLACE resets the function's attributes, hence SECURITY DEFINER again.
CREATE OR REPLACE FUNCTION herald.enqueue(
    job_type        text,
    payload         jsonb,
    run_at          timestamptz DEFAULT now(),
    priority        integer     DEFAULT 0,
    max_attempts    integer     DEFAULT NULL,
    idempotency_key text        DEFAULT NULL,
    queue           text        DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    checked record;
    new_id  bigint;
BEGIN
    checked := herald.check_new_job(job_type, payload, run_at, priority, max_attempts,
                                    idempotency_key, queue);
    -- A concurrent enqueue with the same key may commit after this statement's snapshot;
    -- each try below takes a fresh one.
    FOR round IN 1..3 LOOP
        INSERT INTO herald.jobs AS j
            (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
             idempotency_key)
        VALUES (enqueue.job_type, checked.the_queue, enqueue.payload, enqueue.priority,
                enqueue.run_at, checked.budget, checked.budget, enqueue.idempotency_key)
        ON CONFLICT (job_type, idempotency_key)
            WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running', 'retrying')
            DO NOTHING
        RETURNING j.id INTO new_id;
        IF new_id IS NOT NULL THEN
            RETURN new_id::text;
        END IF;
        SELECT j.id INTO new_id
        FROM herald.jobs AS j
        WHERE j.job_type = enqueue.job_type
          AND j.idempotency_key = enqueue.idempotency_key
          AND j.state IN ('pending', 'running', 'retrying')
        LIMIT 1;
        IF new_id IS NOT NULL THEN
            RETURN new_id::text;
        END IF;
    END LOOP;
    RAISE EXCEPTION 'herald.enqueue: idempotency key "%" is contended; try again', idempotency_key
        USING ERRCODE = '40001';
END
$$;

-- A W3C traceparent as jobs/src/traceparent.rs parses it: version 00, lowercase hex,
-- neither id all zeros. NULL passes (no trace); anything else invalid is HR004.
CREATE FUNCTION herald.check_traceparent(traceparent text) RETURNS text
LANGUAGE plpgsql
IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF traceparent IS NOT NULL AND (
        btrim(traceparent) !~ '^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
        OR substr(btrim(traceparent), 4, 32) = repeat('0', 32)
        OR substr(btrim(traceparent), 37, 16) = repeat('0', 16)) THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid traceparent: must be a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>, lowercase, ids not all zeros)'
            USING ERRCODE = 'HR004';
    END IF;
    RETURN btrim(traceparent);
END
$$;

-- One job object of a batch, checked: the row to insert. `traceparent` is the batch's,
-- used when the object has none of its own.
CREATE FUNCTION herald.check_workflow_job(
    job jsonb,
    traceparent text,
    OUT job_type text, OUT queue text, OUT payload jsonb, OUT priority integer,
    OUT run_at timestamptz, OUT budget integer, OUT trace_context text
)
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    checked record;
BEGIN
    IF job IS NULL OR jsonb_typeof(job) <> 'object' THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid job: each must be a JSON object'
            USING ERRCODE = 'HR004';
    END IF;
    IF job ? 'idempotency_key' THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid idempotency_key: a batch''s jobs cannot have one'
            USING ERRCODE = 'HR004';
    END IF;
    job_type := job ->> 'job_type';
    payload := job -> 'payload';
    run_at := coalesce((job ->> 'run_at')::timestamptz, now());
    priority := coalesce((job ->> 'priority')::integer, 0);
    checked := herald.check_new_job(job_type, payload, run_at, priority,
                                    (job ->> 'max_attempts')::integer, NULL, job ->> 'queue');
    queue := checked.the_queue;
    budget := checked.budget;
    trace_context := herald.check_traceparent(
        coalesce(job ->> 'traceparent', check_workflow_job.traceparent));
END
$$;

DROP FUNCTION herald.enqueue_batch_job(jsonb);

-- Roles that could execute the five-argument herald.enqueue_batch() (herald.grant_producer
-- or by hand), to grant the new one to.
CREATE TEMPORARY TABLE enqueue_batch_grantees ON COMMIT DROP AS
SELECT DISTINCT grantee::text AS grantee
FROM information_schema.role_routine_grants
WHERE routine_schema = 'herald' AND routine_name = 'enqueue_batch'
  AND privilege_type = 'EXECUTE' AND grantee <> 'PUBLIC'
  AND grantee::text <> current_user;
DROP FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text);

-- herald.enqueue_batch(members, on_complete, on_success, on_death, description,
-- traceparent): enqueues a whole batch in the caller's transaction; returns the batch id.
--   members      a non-empty JSON array of jobs; each an object with job_type and
--                payload, optional queue, priority, max_attempts, run_at, traceparent (as
--                for herald.enqueue(), which validates each: HR001-HR004). Idempotency
--                keys are refused (HR004): a member must be a new job of this batch.
--   on_complete, on_success, on_death   NULL, one job object, or an array of them:
--                enqueued `waiting`, released when the event fires.
--   traceparent  the enqueuer's W3C traceparent, stored with every job (NULL = none).
CREATE FUNCTION herald.enqueue_batch(
    members     jsonb,
    on_complete jsonb DEFAULT NULL,
    on_success  jsonb DEFAULT NULL,
    on_death    jsonb DEFAULT NULL,
    description text  DEFAULT NULL,
    traceparent text  DEFAULT NULL
) RETURNS bigint
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    the_batch bigint;
    trace     text;
    new_id    bigint;
    waiting   record;
BEGIN
    IF members IS NULL OR jsonb_typeof(members) <> 'array' OR jsonb_array_length(members) = 0 THEN
        RAISE EXCEPTION 'herald.enqueue_batch: invalid members: must be a non-empty JSON array of jobs'
            USING ERRCODE = 'HR004';
    END IF;
    trace := herald.check_traceparent(enqueue_batch.traceparent);
    INSERT INTO herald.batches (total, description)
    VALUES (jsonb_array_length(members), enqueue_batch.description)
    RETURNING id INTO the_batch;
    -- Every member in one statement, each row written once, its batch id included.
    INSERT INTO herald.jobs
        (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
         trace_context, batch_id)
    SELECT c.job_type, c.queue, c.payload, c.priority, c.run_at, c.budget, c.budget,
           c.trace_context, the_batch
    FROM jsonb_array_elements(members) WITH ORDINALITY AS m(job, ord)
    CROSS JOIN LATERAL herald.check_workflow_job(m.job, trace) AS c
    ORDER BY m.ord;
    -- Callbacks (a few): each inserted once, already waiting.
    FOR waiting IN
        SELECT e.on_event, c.*
        FROM (VALUES (1, 'complete', on_complete), (2, 'success', on_success),
                     (3, 'death', on_death)) AS e(n, on_event, spec)
        CROSS JOIN LATERAL jsonb_array_elements(
            CASE WHEN jsonb_typeof(e.spec) = 'array' THEN e.spec ELSE jsonb_build_array(e.spec) END
        ) WITH ORDINALITY AS j(job, ord)
        CROSS JOIN LATERAL herald.check_workflow_job(j.job, trace) AS c
        WHERE e.spec IS NOT NULL AND jsonb_typeof(e.spec) <> 'null'
        ORDER BY e.n, j.ord
    LOOP
        INSERT INTO herald.jobs
            (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
             trace_context, state)
        VALUES (waiting.job_type, waiting.queue, waiting.payload, waiting.priority,
                waiting.run_at, waiting.budget, waiting.budget, waiting.trace_context,
                'waiting')
        RETURNING id INTO new_id;
        INSERT INTO herald.batch_waiters (job_id, batch_id, on_event)
        VALUES (new_id, the_batch, waiting.on_event);
    END LOOP;
    RETURN the_batch;
END
$$;

REVOKE EXECUTE ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text),
                           herald.check_traceparent(text),
                           herald.check_workflow_job(jsonb, text) FROM PUBLIC;
COMMENT ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text) IS
    'Enqueues a batch of jobs with complete/success/death callbacks and an optional traceparent; returns the batch id. SQLSTATE as herald.enqueue(), HR004 for a malformed batch or traceparent.';

DO $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT grantee FROM enqueue_batch_grantees LOOP
        EXECUTE format(
            'GRANT EXECUTE ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text) TO %I',
            r.grantee);
    END LOOP;
END
$$;

-- Producers may enqueue batches (the new signature).
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
        'GRANT EXECUTE ON FUNCTION herald.enqueue_batch(jsonb, jsonb, jsonb, jsonb, text, text) TO %I',
        role_name);
END
$$;
REVOKE EXECUTE ON FUNCTION herald.grant_producer(text) FROM PUBLIC;
