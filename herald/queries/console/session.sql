-- The live session a cookie's token hash names, with its user.
SELECT u.username, u.role, s.csrf_token
FROM herald.console_sessions AS s
JOIN herald.console_users AS u ON u.id = s.user_id
WHERE s.token_hash = $1 AND s.expires_at > now()
