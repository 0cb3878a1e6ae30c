-- Expired sessions, deleted every few minutes by each console process (as well as at a
-- login), so the table holds only live sessions however rarely anyone logs in.
DELETE FROM herald.console_sessions WHERE expires_at < now()
