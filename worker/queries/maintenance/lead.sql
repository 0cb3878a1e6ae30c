-- Becomes or stays the maintenance leader: worker $1 takes the lease for $2 seconds when
-- nobody holds it, when it already holds it, or when the holder's lease has expired (it
-- died or stalled). Returns the lease's election time when $1 leads, no row otherwise.
-- A leader's pruning batch holds this row's lock (fence.sql) until it commits, so a
-- takeover waits for that batch and then sees the renewed lease: two workers never
-- prune at once. clock_timestamp(), not now(): a statement that waited for the lock
-- compares against the time it got it.
INSERT INTO herald.maintenance_leader AS l (duty, holder, elected_at, renewed_at, expires_at)
VALUES ('maintenance', $1, clock_timestamp(), clock_timestamp(),
        clock_timestamp() + make_interval(secs => $2))
ON CONFLICT (duty) DO UPDATE
SET holder = excluded.holder,
    elected_at = CASE WHEN l.holder = excluded.holder THEN l.elected_at ELSE excluded.elected_at END,
    renewed_at = excluded.renewed_at,
    expires_at = excluded.expires_at
WHERE l.holder = excluded.holder OR l.expires_at < clock_timestamp()
RETURNING l.elected_at AS "elected_at: StoredTime"
