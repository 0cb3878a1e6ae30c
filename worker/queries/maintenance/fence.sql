-- The first statement of every pruning transaction: renews worker $1's lease for $2
-- seconds and keeps the leader row locked until the transaction ends. No row: $1 no
-- longer leads (another worker took the lease over), and the transaction deletes nothing.
UPDATE herald.maintenance_leader
SET renewed_at = clock_timestamp(),
    expires_at = clock_timestamp() + make_interval(secs => $2)
WHERE duty = 'maintenance' AND holder = $1
RETURNING holder
