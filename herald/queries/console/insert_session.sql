-- A new session after a successful login; the token's SHA-256 only. Expired sessions
-- go in the same statement, so the table does not grow with abandoned logins.
WITH expired AS (
    DELETE FROM herald.console_sessions WHERE expires_at < now()
)
INSERT INTO herald.console_sessions (token_hash, user_id, csrf_token, source_addr, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
