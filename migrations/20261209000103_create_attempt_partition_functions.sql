-- The partition maintenance of herald.attempts, called by the maintenance leader (one
-- at a time, each call in its own fenced transaction with lock_timeout 1 s; a call that
-- times out is rolled back whole and tried again at the next run):
--   herald.attempt_partitions()            the range partitions and their bounds
--   herald.audit_closed_below()            job ids below this receive no more attempts
--   herald.create_attempt_partition(l, u)  a new range partition, with the DEFAULT
--                                          partition's rows of that range moved into it
--   herald.prune_attempt_partition(...)    drop or compact one closed partition
-- and the run record's counts of partitions dropped and compacted.
-- Every partition they create gets the audit table's storage parameters
-- (herald.audit_partition_storage_options(), defined by migration 20261209000200 and
-- looked up when a function runs): PostgreSQL 15 keeps them per partition, not on the
-- partitioned parent.

ALTER TABLE herald.maintenance_runs
    ADD COLUMN attempt_partitions_dropped   integer NOT NULL DEFAULT 0,
    ADD COLUMN attempt_partitions_compacted integer NOT NULL DEFAULT 0;

-- The range partitions of herald.attempts (not the DEFAULT one), lowest first:
-- `lower_bound` NULL for MINVALUE (the legacy partition). Reads the catalog only.
CREATE FUNCTION herald.attempt_partitions()
RETURNS TABLE (name text, lower_bound bigint, upper_bound bigint)
LANGUAGE sql STABLE
AS $$
    SELECT c.relname::text,
           nullif(trim(both '''' from m[1]), 'MINVALUE')::bigint,
           trim(both '''' from m[2])::bigint
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    '^FOR VALUES FROM \((.*)\) TO \((.*)\)$') AS m
    WHERE i.inhparent = 'herald.attempts'::regclass
      AND m IS NOT NULL
    ORDER BY 3
$$;

-- Job ids below this receive no more audit rows from ordinary work: every one of them
-- has been handed out by the jobs id sequence, and none is a pending, running or
-- retrying job. A partition whose upper bound is at most this is CLOSED. (An operator's
-- replay makes a job live again: its partition is open again until the job finishes.)
-- SECURITY DEFINER: `herald retention` (an operator role) reads it without a grant on
-- the jobs id sequence.
CREATE FUNCTION herald.audit_closed_below() RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    -- OFFSET 0 keeps the planner from answering min(id) by walking the primary key
    -- from the oldest id through every finished job: the live jobs are read through
    -- jobs_state_type_idx instead (few, however long the history).
    SELECT least(coalesce(pg_sequence_last_value('herald.jobs_id_seq') + 1, 1),
                 (SELECT min(l.id) FROM (SELECT id FROM herald.jobs
                                          WHERE state IN ('pending', 'running', 'retrying')
                                          OFFSET 0) AS l))
$$;

-- Creates range partition herald.attempts_p<lower> for job ids [lower, upper), moving
-- into it the DEFAULT partition's rows of that range, in the caller's transaction;
-- returns how many rows it moved. Locks, until the caller commits (milliseconds): the
-- parent alone (ONLY) SHARE ROW EXCLUSIVE, so audit inserts wait for the new partition
-- (ATTACH alone takes SHARE UPDATE EXCLUSIVE, which lets an insert that already holds the
-- parent route its row to the DEFAULT partition with the partition list of before, and
-- fail the DEFAULT partition's new constraint); the DEFAULT partition ACCESS EXCLUSIVE.
-- Claims, enqueues and reads go on.
CREATE FUNCTION herald.create_attempt_partition(lower bigint, upper bigint) RETURNS bigint
LANGUAGE plpgsql
AS $$
DECLARE
    part  text := 'attempts_p' || lower;
    moved bigint;
BEGIN
    IF upper <= lower THEN
        RAISE EXCEPTION 'empty attempt partition range [%, %)', lower, upper;
    END IF;
    LOCK TABLE ONLY herald.attempts IN SHARE ROW EXCLUSIVE MODE;
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

-- The shortest age any audit row has under `policy`: the `succeeded` and
-- `failed_attempts` defaults and every queue's override of them.
CREATE FUNCTION herald.shortest_audit_age(policy jsonb) RETURNS interval
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT make_interval(secs => min(age))
    FROM (
        SELECT (policy ->> class)::double precision AS age
        FROM unnest(ARRAY['succeeded', 'failed_attempts']) AS class
        UNION ALL
        SELECT (q.ages ->> class)::double precision
        FROM jsonb_each(coalesce(policy -> 'queues', '{}')) AS q(queue, ages),
             unnest(ARRAY['succeeded', 'failed_attempts']) AS class
        WHERE q.ages ? class
    ) AS ages
$$;

-- Removes the audit rows of closed partition `part` that nothing keeps, under `policy`
-- (worker/src/maintenance/policy.rs) as of `as_of`. A row is KEPT while its job exists
-- in herald.jobs, or while it is younger than its own age (a succeeded attempt: its
-- queue's `succeeded` age; any other: `failed_attempts`). Then:
--   no row kept                          -> 'dropped'   (DROP TABLE: no row deletes)
--   removable rows >= compact_share      -> 'compacted' (keepers copied to a new table,
--                                           which replaces the partition, same bounds)
--   otherwise                            -> 'kept'
--   every row younger than the shortest age -> 'young' (no row read)
--   the partition is no longer closed    -> 'open'      (nothing done)
--   no such partition                    -> 'gone'
-- Returns the action, rows removed and rows kept. Locks: the partition SHARE for the
-- whole call (no insert slips in between the copy and the swap), then the parent ACCESS
-- EXCLUSIVE from the DROP to the caller's commit (a short swap, no copy under it).
CREATE FUNCTION herald.prune_attempt_partition(
    part text, policy jsonb, as_of timestamptz, compact_share double precision)
RETURNS TABLE (action text, removed bigint, kept bigint)
LANGUAGE plpgsql
AS $$
DECLARE
    lo      bigint;
    hi      bigint;
    total   bigint;
    keepers bigint;
    oldest  timestamptz;
    tmp     text := part || '_compact';
    cols    text;
    keeper  constant text :=
        'EXISTS (SELECT 1 FROM herald.jobs AS j WHERE j.id = a.job_id)
         OR coalesce(a.finished_at >= $2 - herald.retention_age(
                $1, CASE WHEN a.outcome = ''succeeded'' THEN ''succeeded'' ELSE ''failed_attempts'' END,
                a.queue), true)';
BEGIN
    SELECT p.lower_bound, p.upper_bound INTO lo, hi
    FROM herald.attempt_partitions() AS p WHERE p.name = part;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'gone'::text, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    EXECUTE format('LOCK TABLE herald.%I IN SHARE MODE', part);
    IF hi > herald.audit_closed_below() THEN
        RETURN QUERY SELECT 'open'::text, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    -- Nothing can go while the partition's oldest row is younger than the shortest age
    -- any audit row has under the policy: answered by its finished_at index without
    -- reading the rows, so the closed partitions of the last few days cost each run one
    -- index probe, not a scan.
    EXECUTE format('SELECT min(finished_at) FROM herald.%I', part) INTO oldest;
    IF oldest IS NOT NULL AND oldest >= as_of - herald.shortest_audit_age(policy) THEN
        RETURN QUERY SELECT 'young'::text, 0::bigint, 0::bigint;
        RETURN;
    END IF;
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE %s) FROM herald.%I AS a', keeper, part)
        INTO total, keepers USING policy, as_of;
    IF keepers = 0 THEN
        EXECUTE format('DROP TABLE herald.%I', part);
        RETURN QUERY SELECT 'dropped'::text, total, 0::bigint;
        RETURN;
    END IF;
    IF total - keepers = 0 OR (total - keepers)::double precision < compact_share * total THEN
        RETURN QUERY SELECT 'kept'::text, 0::bigint, total;
        RETURN;
    END IF;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute
    WHERE attrelid = 'herald.attempts'::regclass AND attnum > 0 AND NOT attisdropped;
    EXECUTE format('CREATE TABLE herald.%I (LIKE herald.attempts INCLUDING DEFAULTS INCLUDING CONSTRAINTS) WITH (%s)',
                   tmp, array_to_string(herald.audit_partition_storage_options(), ', '));
    EXECUTE format('INSERT INTO herald.%I (%s) SELECT %s FROM herald.%I AS a WHERE %s',
                   tmp, cols, cols, part, keeper) USING policy, as_of;
    EXECUTE format('ALTER TABLE herald.%I ADD CONSTRAINT %I CHECK (job_id < %s%s)', tmp,
                   part || '_range', hi, CASE WHEN lo IS NULL THEN '' ELSE ' AND job_id >= ' || lo END);
    EXECUTE format('ALTER TABLE herald.%I ADD CONSTRAINT %I UNIQUE (job_id, attempt)', tmp,
                   tmp || '_job_id_attempt_key');
    EXECUTE format('CREATE INDEX %I ON herald.%I (finished_at)', tmp || '_finished_at_idx', tmp);
    EXECUTE format('DROP TABLE herald.%I', part);
    EXECUTE format('ALTER TABLE herald.attempts ATTACH PARTITION herald.%I FOR VALUES FROM (%s) TO (%s)',
                   tmp, coalesce(lo::text, 'MINVALUE'), hi);
    EXECUTE format('ALTER TABLE herald.%I RENAME TO %I', tmp, part);
    -- The old indexes went with the old table: the new ones take their names, so the
    -- next compaction of this partition can name its own after the table again.
    EXECUTE format('ALTER INDEX herald.%I RENAME TO %I', tmp || '_job_id_attempt_key',
                   part || '_job_id_attempt_key');
    EXECUTE format('ALTER INDEX herald.%I RENAME TO %I', tmp || '_finished_at_idx',
                   part || '_finished_at_idx');
    RETURN QUERY SELECT 'compacted'::text, total - keepers, keepers;
END
$$;
