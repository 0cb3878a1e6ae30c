-- One set of enqueue rules everywhere (the contract table: jobs/src/rules.rs). This
-- migration (1) keeps each job's enqueued attempt budget, so a replay grants it again;
-- (2) replaces herald.enqueue() with one that applies the same rules as the Rust client
-- and the CLI, one error per rule; (3) adds CHECK constraints so a raw INSERT INTO
-- herald.jobs cannot store what the rules refuse.

-- (1) The budget the job was enqueued with (every enqueue path sets it). NULL on rows
-- enqueued before this migration: replay then falls back to the type's budget.
ALTER TABLE herald.jobs ADD COLUMN enqueued_max_attempts integer;

-- (2) herald.enqueue(): same signature, so existing callers and grants are unchanged.
-- CREATE OR REPLACE resets the function's attributes, hence SECURITY DEFINER again.
--
-- Errors (SQLSTATE, message; nothing is inserted):
--   HR001  unknown job type: no worker has registered it in herald.job_types
--   HR002  payload is not a JSON object
--   HR003  payload too large: its JSON text exceeds herald.max_payload_bytes
--          (a setting, default 262144 = 256 KiB)
--   HR004  invalid argument, one message per rule, the same text as the Rust client's
--          ("herald.enqueue: invalid <field>: <why>"):
--            job_type, payload, run_at, priority   must not be NULL
--            job_type         1..128 bytes of A-Z a-z 0-9 _ . : -
--            queue            1..64 bytes of A-Z a-z 0-9 _ . : -  (NULL = the type's queue)
--            run_at           finite, 1970-01-01T00:00:00Z ..= 9999-12-31T23:59:59Z
--            priority         -32768..32767
--            max_attempts     1..1000  (NULL = the type's budget)
--            idempotency_key  NULL, or 1..255 bytes without control characters
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
    known     herald.job_types%ROWTYPE;
    limit_b   bigint;
    size_b    bigint;
    new_id    bigint;
    the_queue text;
    budget    integer;
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
    SELECT * INTO known FROM herald.job_types AS t WHERE t.job_type = enqueue.job_type;
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
    budget := coalesce(enqueue.max_attempts, known.max_attempts);
    IF budget NOT BETWEEN 1 AND 1000 THEN
        RAISE EXCEPTION 'herald.enqueue: invalid max_attempts: must be between 1 and 1000, got %',
            budget USING ERRCODE = 'HR004';
    END IF;
    the_queue := coalesce(enqueue.queue, known.queue);
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

    -- A concurrent enqueue with the same key may commit after this statement's snapshot;
    -- each try below takes a fresh one.
    FOR round IN 1..3 LOOP
        INSERT INTO herald.jobs AS j
            (job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts,
             idempotency_key)
        VALUES (enqueue.job_type, the_queue, enqueue.payload, enqueue.priority, enqueue.run_at,
                budget, budget, enqueue.idempotency_key)
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

COMMENT ON FUNCTION herald.enqueue(text, jsonb, timestamptz, integer, integer, text, text) IS
    'Enqueues a Herald job; returns its id. SQLSTATE HR001 unknown type, HR002 payload not an object, HR003 payload too large, HR004 invalid argument (one message per rule, see jobs/src/rules.rs).';

-- (3) Defence in depth: the rules a raw INSERT INTO herald.jobs could break.
--
-- They bind a job AS ENQUEUED: a row that is pending with no attempt made (every
-- producer's insert). Once a job has moved on (claimed, retried, finished, cancelled,
-- replayed) its row no longer has to satisfy them, so a row stored before this
-- migration that breaks a rule (a queue name with a space, a run time of -infinity)
-- can still be claimed, failed, cancelled, replayed or purged. (One exception: a
-- shutdown that releases such a row's FIRST attempt puts it back to pending with no
-- attempt made, which the check refuses; the worker then releases its jobs one by one,
-- so only that row stays running and rescue takes it when its lease runs out.) Replay raises max_attempts above the cap on purpose
-- (attempts made + budget), which the attempt > 0 clause allows.
--
-- NOT VALID: existing rows are not checked, so the migration neither fails on an old
-- row nor scans the table under its ACCESS EXCLUSIVE lock (which is then held only for
-- the catalogue change). New and updated rows are checked at once. An operator who has
-- cleaned up may run `ALTER TABLE herald.jobs VALIDATE CONSTRAINT ...` later; it scans
-- under a lock that does not block reads or writes.
ALTER TABLE herald.jobs
    ADD CONSTRAINT jobs_enqueued_run_at_in_range CHECK (
        state <> 'pending' OR attempt > 0
        OR run_at BETWEEN '1970-01-01 00:00:00+00' AND '9999-12-31 23:59:59+00') NOT VALID,
    ADD CONSTRAINT jobs_enqueued_queue_name CHECK (
        state <> 'pending' OR attempt > 0
        OR (octet_length(queue) BETWEEN 1 AND 64 AND queue ~ '^[-A-Za-z0-9_.:]+$')) NOT VALID,
    ADD CONSTRAINT jobs_enqueued_job_type_name CHECK (
        state <> 'pending' OR attempt > 0
        OR (octet_length(job_type) BETWEEN 1 AND 128 AND job_type ~ '^[-A-Za-z0-9_.:]+$')) NOT VALID,
    ADD CONSTRAINT jobs_enqueued_max_attempts_in_range CHECK (
        state <> 'pending' OR attempt > 0 OR max_attempts BETWEEN 1 AND 1000) NOT VALID,
    ADD CONSTRAINT jobs_enqueued_max_attempts_range CHECK (
        enqueued_max_attempts BETWEEN 1 AND 1000) NOT VALID;
