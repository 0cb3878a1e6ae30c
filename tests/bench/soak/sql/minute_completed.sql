-- Jobs that finished for good (succeeded or dead) in [$1, $2): their final audit row's
-- finish. Counted a few seconds after $2, long before the rows are old enough to prune.
-- Served by attempts_finished_at_idx.
SELECT count(*)
FROM herald.attempts
WHERE finished_at >= $1 AND finished_at < $2 AND outcome IN ('succeeded', 'dead')
