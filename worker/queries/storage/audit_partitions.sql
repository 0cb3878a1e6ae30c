-- The partitions of herald.attempts (children in pg_inherits; none while it is a plain
-- table): how many exist, and how many are "ahead", i.e. their lower bound (parsed from
-- `FOR VALUES FROM ('123') TO ('456')`; the DEFAULT partition has none) is above the job
-- id sequence's current value, so jobs enqueued next already have a partition. One row.
-- Reads the catalogs and the sequence's last value only (through pg_sequences, which
-- shows NULL instead of failing for a role without privileges on the sequence, such as
-- an operator's: then the highest job id stands in for it).
WITH children AS (
    SELECT substring(pg_get_expr(c.relpartbound, c.oid) FROM $re$FROM \('?(-?[0-9]+)'?\)$re$)::numeric
               AS lower_bound
    FROM pg_inherits AS i
    JOIN pg_class AS c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'herald.attempts'::regclass
),
issued AS (
    SELECT coalesce((SELECT s.last_value
                     FROM pg_sequences AS s
                     WHERE format('%I.%I', s.schemaname, s.sequencename)
                           = pg_get_serial_sequence('herald.jobs', 'id')),
                    (SELECT max(j.id) FROM herald.jobs AS j),
                    0) AS last_id
)
SELECT count(c.*) AS "present!",
       count(c.*) FILTER (WHERE c.lower_bound > issued.last_id) AS "ahead!"
FROM issued
LEFT JOIN children AS c ON true
GROUP BY issued.last_id
