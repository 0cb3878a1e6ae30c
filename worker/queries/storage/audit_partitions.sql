-- The partitions of herald.attempts: how many exist (every child, the DEFAULT partition
-- included), and how many range partitions are "ahead", i.e. their lower bound (from
-- herald.attempt_partitions(), the partition migration's reading of the bounds) is above
-- the job id sequence's current value, so jobs enqueued next already have a partition.
-- One row. Reads the catalogs and the sequence's last value only (through pg_sequences,
-- which shows NULL instead of failing for a role without privileges on the sequence,
-- such as an operator's: then the highest job id stands in for it).
WITH issued AS (
    SELECT coalesce((SELECT s.last_value
                     FROM pg_sequences AS s
                     WHERE format('%I.%I', s.schemaname, s.sequencename)
                           = pg_get_serial_sequence('herald.jobs', 'id')),
                    (SELECT max(j.id) FROM herald.jobs AS j),
                    0) AS last_id
)
SELECT (SELECT count(*) FROM pg_inherits AS i
        WHERE i.inhparent = 'herald.attempts'::regclass) AS "present!",
       (SELECT count(*) FROM herald.attempt_partitions() AS p
        WHERE p.lower_bound > issued.last_id) AS "ahead!"
FROM issued
