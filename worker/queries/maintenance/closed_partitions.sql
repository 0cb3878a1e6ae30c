-- The CLOSED range partitions of herald.attempts, lowest first: their whole job-id range
-- is below herald.audit_closed_below() (handed out, and no pending, running or retrying
-- job in it). Reads the catalog, the jobs id sequence and the live jobs' ids.
SELECT p.name AS "name!", p.lower_bound, p.upper_bound AS "upper_bound!"
FROM herald.attempt_partitions() AS p
WHERE p.upper_bound <= herald.audit_closed_below()
ORDER BY p.upper_bound
