-- One authentication audit row (login, login_failed, login_throttled, logout,
-- permission_denied).
INSERT INTO herald.console_events (actor, event, source_addr, attempted)
VALUES ($1, $2, $3, $4)
