-- Herald's queue, audit trail and worker registry. Everything lives in schema `herald`;
-- only core PostgreSQL features are used (no extensions).
CREATE SCHEMA IF NOT EXISTS herald;

-- One row per job. `state` is explicit:
--   pending   waiting to run (run_at in the future = scheduled)
--   running   claimed by `locked_by`, which heartbeats `heartbeat_at`
--   retrying  failed retryably; runs again at `run_at`
--   succeeded finished
--   dead      terminal failure, or its attempts ran out
--   cancelled cancelled by an operator
CREATE TABLE herald.jobs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_type        text        NOT NULL CHECK (job_type <> ''),
    queue           text        NOT NULL DEFAULT 'default' CHECK (queue <> ''),
    payload         jsonb       NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    priority        smallint    NOT NULL DEFAULT 0,
    state           text        NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'running', 'retrying', 'succeeded', 'dead', 'cancelled')),
    attempt         integer     NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts    integer     NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at          timestamptz NOT NULL DEFAULT now(),
    created_at      timestamptz NOT NULL DEFAULT now(),
    claimed_at      timestamptz,
    heartbeat_at    timestamptz,
    locked_by       text,
    finished_at     timestamptz,
    last_error_code text,
    idempotency_key text,
    trace_context   text
);

-- Serves the claim query: only runnable rows, in claim order, so history never slows it.
CREATE INDEX jobs_runnable_idx ON herald.jobs (queue, priority DESC, run_at, id)
    WHERE state IN ('pending', 'retrying');
-- Serves heartbeats (by owner) and rescue (by staleness).
CREATE INDEX jobs_running_owner_idx ON herald.jobs (locked_by) WHERE state = 'running';
CREATE INDEX jobs_running_heartbeat_idx ON herald.jobs (heartbeat_at) WHERE state = 'running';
-- An idempotency key holds while its job is alive.
CREATE UNIQUE INDEX jobs_idempotency_key_alive_idx ON herald.jobs (job_type, idempotency_key)
    WHERE idempotency_key IS NOT NULL AND state IN ('pending', 'running', 'retrying');
CREATE INDEX jobs_state_type_idx ON herald.jobs (state, job_type);

-- Append-only audit: exactly one row per attempt, written in the same statement as the
-- job's state change. No foreign key to herald.jobs, so the trail outlives pruning.
CREATE TABLE herald.attempts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id      bigint      NOT NULL,
    job_type    text        NOT NULL,
    queue       text        NOT NULL,
    attempt     integer     NOT NULL,
    worker_id   text        NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz NOT NULL,
    duration_ms integer     NOT NULL,
    outcome     text        NOT NULL
        CHECK (outcome IN ('succeeded', 'retrying', 'dead', 'abandoned', 'interrupted')),
    job_state   text        NOT NULL,
    error_code  text,
    error_class text CHECK (error_class IN ('retryable', 'terminal')),
    message     text,
    next_run_at timestamptz,
    trace_id    text,
    UNIQUE (job_id, attempt)
);
CREATE INDEX attempts_finished_at_idx ON herald.attempts (finished_at);

-- Worker processes and their liveness.
CREATE TABLE herald.workers (
    id           text PRIMARY KEY,
    hostname     text        NOT NULL,
    pid          integer     NOT NULL,
    queues       text[]      NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    stopped_at   timestamptz
);

-- Job types some worker has registered: what SQL-side enqueue can validate against.
CREATE TABLE herald.job_types (
    job_type     text PRIMARY KEY,
    queue        text        NOT NULL,
    max_attempts integer     NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);

-- Wakes idle workers (LISTEN herald_jobs, payload = queue) whenever a statement makes
-- jobs runnable now or later: inserts, retries, releases, rescues, replays. Notifications
-- are sent at commit, so a rolled-back enqueue wakes nobody.
CREATE FUNCTION herald.notify_runnable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_jobs', q.queue)
    FROM (SELECT DISTINCT queue FROM changed WHERE state IN ('pending', 'retrying')) AS q;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON herald.jobs
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_runnable();
CREATE TRIGGER jobs_notify_update AFTER UPDATE ON herald.jobs
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION herald.notify_runnable();
