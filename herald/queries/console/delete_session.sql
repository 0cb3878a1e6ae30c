-- Logout: the session ends for every console process.
DELETE FROM herald.console_sessions WHERE token_hash = $1
