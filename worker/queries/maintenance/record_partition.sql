-- Adds one dropped ($2 = 1) or compacted ($3 = 1) audit partition and the $4 audit rows it
-- removed to run $1, in the transaction that dropped or compacted it.
UPDATE herald.maintenance_runs
SET updated_at = clock_timestamp(),
    attempt_partitions_dropped = attempt_partitions_dropped + $2,
    attempt_partitions_compacted = attempt_partitions_compacted + $3,
    attempts_removed = attempts_removed + $4
WHERE id = $1
