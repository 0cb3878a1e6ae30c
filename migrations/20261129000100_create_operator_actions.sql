-- The operator-action log: one append-only row per operator command that changed jobs
-- (replay, cancel, purge) and per alert trip/resolve. Who, when, why, the filter used,
-- how many jobs and which. No foreign key to herald.jobs, so the log outlives pruning.
CREATE TABLE herald.operator_actions (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    actor     text        NOT NULL CHECK (actor <> ''),
    action    text        NOT NULL CHECK (action IN ('replay', 'cancel', 'purge', 'alert')),
    reason    text,
    filter    jsonb       NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(filter) = 'object'),
    job_count bigint      NOT NULL DEFAULT 0 CHECK (job_count >= 0),
    job_ids   bigint[]    NOT NULL DEFAULT '{}'
);
CREATE INDEX operator_actions_at_idx ON herald.operator_actions (at);
-- Serves `herald jobs show`: the actions that touched one job.
CREATE INDEX operator_actions_job_ids_idx ON herald.operator_actions USING gin (job_ids);
