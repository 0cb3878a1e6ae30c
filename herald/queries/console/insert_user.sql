-- `herald console add-user`: a new console user; a taken name returns no row.
INSERT INTO herald.console_users (username, password_hash, role)
VALUES ($1, $2, $3)
ON CONFLICT (username) DO NOTHING
RETURNING id
