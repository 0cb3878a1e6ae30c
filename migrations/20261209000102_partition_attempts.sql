-- Partitioning herald.attempts, step C, in ONE transaction (measured ~30 ms of locks on
-- 10 million rows, BENCHMARKS.md): today's table becomes the partition
-- `herald.attempts_legacy` of a new parent partitioned by job-id range, for job ids below
-- the bound of step A. Nothing is copied or scanned: the validated CHECK of step B proves
-- the partition constraint. Old audit rows then go by dropping or compacting whole
-- partitions (worker/src/maintenance/audit_trail.rs), not by row deletes.
--
-- What stays true: one audit row per attempt, UNIQUE (job_id, attempt) (it contains the
-- partition key, so it holds across partitions), written in the finisher's statement.
-- What changes: `id` is no longer an identity column (PostgreSQL 15 partitioned tables
-- cannot have one) but `DEFAULT nextval('herald.attempts_id_seq')`, started after the
-- largest id; it is no longer a primary key (a partitioned table's key must contain the
-- partition key): (job_id, attempt) is the key. Nothing orders by `id` at scale, so it
-- has no index of its own.
--
-- The DEFAULT partition `herald.attempts_default` takes any attempt whose job id has no
-- range partition yet, so a missing partition never rejects an audit row; the
-- maintenance leader creates range partitions ahead of the jobs id sequence and moves
-- such rows into them (herald.create_attempt_partition, next migration). No range
-- partition is created here: their size is a worker setting (HERALD_AUDIT_PARTITION_JOBS)
-- the migration does not know, and until the leader's first run the few new rows wait in
-- the DEFAULT partition.
DO $$
DECLARE
    bound bigint := (SELECT b.bound FROM herald.attempts_legacy_bound AS b);
    next_id bigint;
    grant_row record;
BEGIN
    -- The identity sequence goes with DROP IDENTITY; the new one continues after max(id)
    -- (the primary key's index).
    ALTER TABLE herald.attempts ALTER COLUMN id DROP IDENTITY;
    SELECT coalesce(max(id), 0) + 1 INTO next_id FROM herald.attempts;
    CREATE SEQUENCE herald.attempts_id_seq AS bigint;
    PERFORM setval('herald.attempts_id_seq', next_id, false);

    ALTER TABLE herald.attempts DROP CONSTRAINT attempts_pkey;
    ALTER TABLE herald.attempts RENAME TO attempts_legacy;
    ALTER INDEX herald.attempts_job_id_attempt_key RENAME TO attempts_legacy_job_id_attempt_key;
    ALTER INDEX herald.attempts_finished_at_idx RENAME TO attempts_legacy_finished_at_idx;

    -- Same columns, in the same order, with the same checks (by name) as before.
    CREATE TABLE herald.attempts (
        id          bigint      NOT NULL DEFAULT nextval('herald.attempts_id_seq'),
        job_id      bigint      NOT NULL,
        job_type    text        NOT NULL,
        queue       text        NOT NULL,
        attempt     integer     NOT NULL,
        worker_id   text        NOT NULL,
        started_at  timestamptz NOT NULL,
        finished_at timestamptz NOT NULL,
        duration_ms integer     NOT NULL,
        outcome     text        NOT NULL
            CONSTRAINT attempts_outcome_check
            CHECK (outcome IN ('succeeded', 'retrying', 'dead', 'abandoned', 'interrupted')),
        job_state   text        NOT NULL,
        error_code  text,
        error_class text
            CONSTRAINT attempts_error_class_check
            CHECK (error_class IN ('retryable', 'terminal')),
        message     text,
        next_run_at timestamptz,
        trace_id    text,
        error_chain text,
        CONSTRAINT attempts_job_id_attempt_key UNIQUE (job_id, attempt)
    ) PARTITION BY RANGE (job_id);
    CREATE INDEX attempts_finished_at_idx ON herald.attempts (finished_at);
    ALTER SEQUENCE herald.attempts_id_seq OWNED BY herald.attempts.id;

    -- The existing indexes become the partition's (no build); the CHECK proves the range.
    EXECUTE format(
        'ALTER TABLE herald.attempts ATTACH PARTITION herald.attempts_legacy FOR VALUES FROM (MINVALUE) TO (%s)',
        bound);
    ALTER TABLE herald.attempts_legacy DROP CONSTRAINT attempts_legacy_bound;
    CREATE TABLE herald.attempts_default PARTITION OF herald.attempts DEFAULT;

    -- The roles granted rights on the old table (herald.grant_operator, or a DBA's
    -- grants to a worker role) keep them on the parent; rows routed through the parent
    -- need no grant on the partitions. Inserting roles also need the new sequence.
    FOR grant_row IN
        SELECT a.grantee, a.privilege_type
        FROM pg_class AS c, aclexplode(c.relacl) AS a
        WHERE c.oid = 'herald.attempts_legacy'::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON herald.attempts TO %s', grant_row.privilege_type,
                       CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC'
                            ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
        IF grant_row.privilege_type = 'INSERT' THEN
            EXECUTE format('GRANT USAGE ON SEQUENCE herald.attempts_id_seq TO %s',
                           CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC'
                                ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END);
        END IF;
    END LOOP;
END
$$;

DROP TABLE herald.attempts_legacy_bound;
