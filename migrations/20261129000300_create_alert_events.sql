-- Alert transitions: every trip and resolve of the failure-rate alert, one row each,
-- written by the worker whose tracker saw it. Append-only, like herald.attempts.
CREATE TABLE herald.alert_events (
    id             bigserial PRIMARY KEY,
    occurred_at    timestamptz      NOT NULL DEFAULT now(),
    alert          text             NOT NULL,
    scope          text             NOT NULL,
    transition     text             NOT NULL CHECK (transition IN ('tripped', 'resolved')),
    severity       text             NOT NULL,
    failure_rate   double precision NOT NULL,
    attempts       bigint           NOT NULL,
    failures       bigint           NOT NULL,
    threshold      double precision NOT NULL,
    window_seconds double precision NOT NULL,
    worker_id      text             NOT NULL
);

CREATE INDEX alert_events_occurred_at ON herald.alert_events (occurred_at);
