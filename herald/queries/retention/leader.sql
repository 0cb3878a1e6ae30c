-- The maintenance leader's lease: holder, since when, last renewal, expiry, and whether
-- it is still valid (an expired lease is taken over by the next worker that tries).
SELECT holder,
       elected_at AS "elected_at: StoredTime",
       renewed_at AS "renewed_at: StoredTime",
       expires_at AS "expires_at: StoredTime",
       expires_at > clock_timestamp() AS "valid!"
FROM herald.maintenance_leader
WHERE duty = 'maintenance'
