-- Recurring jobs: one row per (schedule, tick) that has been enqueued. Its primary key is
-- what makes a tick enqueue exactly once when several workers run the same schedule.
-- Rows older than a day are pruned by the workers.
CREATE TABLE herald.cron_ticks (
    schedule    text        NOT NULL,
    tick        timestamptz NOT NULL,
    job_id      bigint      NOT NULL,
    enqueued_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule, tick)
);
