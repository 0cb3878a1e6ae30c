-- The web console's users, sessions and authentication audit (`herald console`).
--
-- console_users: one row per login. Passwords are Argon2id PHC strings (salt and
-- parameters inside); Herald never stores or ships a password, `herald console
-- add-user` generates one and prints it once. Two roles: `viewer` reads, `operator`
-- also replays and cancels.
CREATE TABLE herald.console_users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      text        NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash text        NOT NULL CHECK (password_hash LIKE '$argon2%'),
    role          text        NOT NULL CHECK (role IN ('viewer', 'operator')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- console_sessions: in the database, so any console process of the fleet accepts a
-- session another one opened, and logging out ends it everywhere. The cookie carries a
-- random token; only its SHA-256 is stored, so reading this table does not give a
-- usable session. The CSRF token is per session and sent back in a header on every
-- state-changing request. Deleting a user ends its sessions (ON DELETE CASCADE).
CREATE TABLE herald.console_sessions (
    token_hash  bytea       PRIMARY KEY CHECK (octet_length(token_hash) = 32),
    user_id     bigint      NOT NULL REFERENCES herald.console_users (id) ON DELETE CASCADE,
    csrf_token  text        NOT NULL CHECK (length(csrf_token) >= 32),
    source_addr text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
-- Expired sessions are deleted by the login path; this finds them.
CREATE INDEX console_sessions_expires_idx ON herald.console_sessions (expires_at);

-- console_events: the authentication audit, shaped like herald.operator_actions (who,
-- when, what), with the source address and what was attempted. A separate table
-- rather than new operator_actions kinds: these rows name no jobs, and the failed-login
-- throttle counts them (fleet-wide, in the database) through the partial indexes below.
-- Like the rest of the audit, no foreign key to the user: the trail outlives the user.
CREATE TABLE herald.console_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL,
    event       text        NOT NULL CHECK (event IN ('login', 'login_failed', 'login_throttled', 'logout', 'permission_denied')),
    source_addr text        NOT NULL,
    attempted   text        NOT NULL
);
CREATE INDEX console_events_at_idx ON herald.console_events (at);
-- The throttle's two counts: recent failures for a username, and from an address.
CREATE INDEX console_events_failed_actor_idx ON herald.console_events (actor, at) WHERE event = 'login_failed';
CREATE INDEX console_events_failed_addr_idx ON herald.console_events (source_addr, at) WHERE event = 'login_failed';
