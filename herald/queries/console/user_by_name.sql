-- The user a login names.
SELECT id, username, password_hash, role FROM herald.console_users WHERE username = $1
