-- Partitioning herald.attempts by job-id range, step A (of three files: each runs in its
-- own transaction). Marks every existing and soon-written audit row as belonging below
-- a bound, so step C can attach today's table as the first partition without scanning
-- it.
--
-- The bound: greater than every job id handed out (max(job_id) of the audit rows, the
-- jobs id sequence's next value), plus a margin of 1,000,000 ids so the jobs enqueued
-- while the migrations run still satisfy the CHECK (their attempts land in today's table
-- until step C). On a database that never had a job the margin is 0 (nothing writes yet).
-- NOT VALID: adding it takes a brief ACCESS EXCLUSIVE lock and reads no row;
-- step B validates it under SHARE UPDATE EXCLUSIVE (inserts keep flowing).
-- `herald.attempts_legacy_bound` carries the bound to step C, which drops it.
CREATE TABLE herald.attempts_legacy_bound (bound bigint NOT NULL);

DO $$
DECLARE
    seq        text := pg_get_serial_sequence('herald.jobs', 'id');
    last_value bigint;
    is_called  boolean;
    top        bigint;
    margin     bigint := 1000000;
    bound      bigint;
BEGIN
    EXECUTE format('SELECT last_value, is_called FROM %s', seq) INTO last_value, is_called;
    -- max(job_id): a backward scan of the (job_id, attempt) unique index.
    SELECT greatest(coalesce((SELECT max(job_id) + 1 FROM herald.attempts), 1),
                    CASE WHEN is_called THEN last_value + 1 ELSE last_value END)
    INTO top;
    IF NOT is_called AND NOT EXISTS (SELECT 1 FROM herald.attempts) THEN
        margin := 0;
    END IF;
    bound := top + margin;
    INSERT INTO herald.attempts_legacy_bound (bound) VALUES (bound);
    EXECUTE format(
        'ALTER TABLE herald.attempts ADD CONSTRAINT attempts_legacy_bound CHECK (job_id < %s) NOT VALID',
        bound);
END
$$;
