-- Drops or compacts closed herald.attempts partition $1 under policy $2 as of $3,
-- compacting when the removable rows are at least share $4 of its rows
-- (herald.prune_attempt_partition, migration 20261209000103: it re-checks the partition
-- is closed under a SHARE lock). Returns the action and rows removed and kept.
SELECT p.action AS "action!", p.removed AS "removed!", p.kept AS "kept!"
FROM herald.prune_attempt_partition($1, $2, $3, $4) AS p
