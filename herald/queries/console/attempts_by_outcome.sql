-- The overview's attempts by outcome over the last $1 seconds, from the audit table (so
-- every worker of the fleet counts); served by the partitions' finished_at indexes.
SELECT outcome, count(*) AS "attempts!"
FROM herald.attempts
WHERE finished_at > now() - make_interval(secs => $1)
GROUP BY outcome
ORDER BY outcome
