-- herald.enqueue(): enqueue a job from plain SQL, for services in any language that share
-- Herald's database. Runs in the caller's transaction (the job exists only if it
-- commits); the insert trigger wakes idle workers at commit. Returns the job id as text.
--
-- Errors (SQLSTATE, message; nothing is inserted):
--   HR001  unknown job type: no worker has registered it in herald.job_types
--   HR002  payload is not a JSON object
--   HR003  payload too large: its JSON text exceeds herald.max_payload_bytes
--          (a setting, default 262144 = 256 KiB; e.g.
--          ALTER DATABASE herald SET herald.max_payload_bytes = '1048576')
--   HR004  invalid argument: a NULL job_type/payload/run_at/priority, a priority outside
--          -32768..32767, max_attempts < 1, an empty queue or idempotency key
--
-- Idempotency: while a job of the same type with the same key is alive (pending,
-- running, retrying) its id is returned and nothing is inserted.
CREATE FUNCTION herald.enqueue(
    job_type        text,
    payload         jsonb,
    run_at          timestamptz DEFAULT now(),
    priority        integer     DEFAULT 0,
    max_attempts    integer     DEFAULT NULL,
    idempotency_key text        DEFAULT NULL,
    queue           text        DEFAULT NULL
) RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    known   herald.job_types%ROWTYPE;
    limit_b bigint;
    size_b  bigint;
    new_id  bigint;
BEGIN
    IF job_type IS NULL OR payload IS NULL OR run_at IS NULL OR priority IS NULL THEN
        RAISE EXCEPTION 'herald.enqueue: job_type, payload, run_at and priority must not be NULL'
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
        RAISE EXCEPTION 'herald.enqueue: priority % is outside -32768..32767', priority
            USING ERRCODE = 'HR004';
    END IF;
    IF max_attempts IS NOT NULL AND max_attempts < 1 THEN
        RAISE EXCEPTION 'herald.enqueue: max_attempts must be at least 1, got %', max_attempts
            USING ERRCODE = 'HR004';
    END IF;
    IF queue = '' OR idempotency_key = '' THEN
        RAISE EXCEPTION 'herald.enqueue: queue and idempotency_key must not be empty strings'
            USING ERRCODE = 'HR004';
    END IF;

    -- A concurrent enqueue with the same key may commit after this statement's snapshot;
    -- each try below takes a fresh one.
    FOR round IN 1..3 LOOP
        INSERT INTO herald.jobs AS j
            (job_type, queue, payload, priority, run_at, max_attempts, idempotency_key)
        VALUES (enqueue.job_type, coalesce(enqueue.queue, known.queue), enqueue.payload,
                enqueue.priority, enqueue.run_at,
                coalesce(enqueue.max_attempts, known.max_attempts), enqueue.idempotency_key)
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
    'Enqueues a Herald job; returns its id. SQLSTATE HR001 unknown type, HR002 payload not an object, HR003 payload too large, HR004 invalid argument.';
