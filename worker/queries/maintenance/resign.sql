-- Worker $1 gives up leadership (clean shutdown), so another worker takes over at once
-- instead of after the lease expires.
DELETE FROM herald.maintenance_leader WHERE duty = 'maintenance' AND holder = $1
