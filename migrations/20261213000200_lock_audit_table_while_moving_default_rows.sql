-- herald.create_attempt_partition() takes the partitioned parent herald.attempts ACCESS
-- EXCLUSIVE (was SHARE ROW EXCLUSIVE) for its few statements.
--
-- Why: a query on herald.attempts builds its list of partitions when it locks the parent,
-- and locks each partition after. With the parent only SHARE ROW EXCLUSIVE, a reader
-- (`herald failures`, `jobs show`, the console) could build its list before the new
-- partition existed, wait on the DEFAULT partition's lock, and then read the DEFAULT
-- partition after the rows of the new range had left it: those audit rows were missing
-- from its answer (not lost: the next query saw them). Seen as an intermittent empty
-- `herald failures` in `operator::failures_group_by_cause_and_replay_by_fingerprint_reruns_only_that_group`,
-- whose rows sat in the DEFAULT partition of a fresh database when the leader's first run
-- moved them. With the parent ACCESS EXCLUSIVE, a reader waits before it lists the
-- partitions and sees the new one. Audit inserts already waited (SHARE ROW EXCLUSIVE
-- conflicts with their ROW EXCLUSIVE); reads now wait too, for the same milliseconds
-- when partitions are created ahead (the DEFAULT partition then holds no row to move).
-- The leader's lock_timeout (1 s) still bounds how long it waits to get the lock.
CREATE OR REPLACE FUNCTION herald.create_attempt_partition(lower bigint, upper bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    part  text := 'attempts_p' || lower;
    moved bigint;
BEGIN
    IF upper <= lower THEN
        RAISE EXCEPTION 'empty attempt partition range [%, %)', lower, upper;
    END IF;
    LOCK TABLE ONLY herald.attempts IN ACCESS EXCLUSIVE MODE;
    LOCK TABLE herald.attempts_default IN ACCESS EXCLUSIVE MODE;
    EXECUTE format('CREATE TABLE herald.%I (LIKE herald.attempts INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (%s)',
                   part, array_to_string(herald.audit_partition_storage_options(), ', '));
    EXECUTE format('ALTER TABLE herald.%I ADD CONSTRAINT %I CHECK (job_id >= %s AND job_id < %s)',
                   part, part || '_range', lower, upper);
    EXECUTE format(
        'WITH moved AS (DELETE FROM herald.attempts_default WHERE job_id >= %s AND job_id < %s RETURNING *)
         INSERT INTO herald.%I SELECT * FROM moved', lower, upper, part);
    GET DIAGNOSTICS moved = ROW_COUNT;
    -- The parent's indexes are built on the new table as it is attached (it holds at
    -- most the moved rows).
    EXECUTE format('ALTER TABLE herald.attempts ATTACH PARTITION herald.%I FOR VALUES FROM (%s) TO (%s)',
                   part, lower, upper);
    RETURN moved;
END
$$;
