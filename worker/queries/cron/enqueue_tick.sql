-- Enqueues schedule $1's job for tick $2 unless some worker already did: the
-- (schedule, tick) row is unique and inserted in the same statement as the job, so with
-- several workers exactly one insert wins and the others get no row.
-- $3 job_type, $4 queue, $5 payload, $6 priority, $7 max_attempts (also kept as
-- enqueued_max_attempts, the budget a replay grants again)
WITH tick AS (
    INSERT INTO herald.cron_ticks (schedule, tick, job_id)
    VALUES ($1, $2, nextval(pg_get_serial_sequence('herald.jobs', 'id')))
    ON CONFLICT (schedule, tick) DO NOTHING
    RETURNING job_id
)
INSERT INTO herald.jobs
    (id, job_type, queue, payload, priority, run_at, max_attempts, enqueued_max_attempts)
OVERRIDING SYSTEM VALUE
SELECT job_id, $3, $4, $5, $6, $2, $7, $7 FROM tick
RETURNING id
