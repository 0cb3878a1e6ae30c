-- Storage of every table of schema `herald`, one row per table: a partitioned table
-- (herald.attempts once partitioned) is one row summed over its leaf partitions, with
-- their count; its partitions never appear on their own. Reads the catalogs and the
-- cumulative statistics only (pg_class, pg_stat_user_tables, the size functions; no
-- table is scanned), so every worker may run it every HERALD_STORAGE_METRICS_INTERVAL.
--   size_bytes        pg_table_size: heap + TOAST (+ their free-space and visibility maps)
--   index_size_bytes  pg_indexes_size: every index of the table (of each partition)
--   live, dead        n_live_tup, n_dead_tup (estimates kept by the statistics system)
--   vacuum_age_secs   seconds since the most recent VACUUM or autovacuum of the table
--                     (of any of its partitions); NULL when none is recorded since the
--                     statistics were last reset
WITH tables AS (
    SELECT c.oid, c.relname, c.relkind
    FROM pg_class AS c
    WHERE c.relnamespace = 'herald'::regnamespace
      AND c.relkind IN ('r', 'p')
      AND NOT c.relispartition
),
leaves AS (
    SELECT t.relname, t.relkind, t.oid AS leaf
    FROM tables AS t
    WHERE t.relkind = 'r'
    UNION ALL
    SELECT t.relname, t.relkind, p.relid
    FROM tables AS t
    CROSS JOIN LATERAL pg_partition_tree(t.oid) AS p
    WHERE t.relkind = 'p' AND p.isleaf
)
SELECT t.relname::text AS "table!",
       (t.relkind = 'p') AS "partitioned!",
       count(l.leaf) FILTER (WHERE t.relkind = 'p') AS "partitions!",
       coalesce(sum(pg_table_size(l.leaf)), 0)::bigint AS "size_bytes!",
       coalesce(sum(pg_indexes_size(l.leaf)), 0)::bigint AS "index_size_bytes!",
       coalesce(sum(s.n_live_tup), 0)::bigint AS "live!",
       coalesce(sum(s.n_dead_tup), 0)::bigint AS "dead!",
       extract(epoch FROM clock_timestamp()
               - max(greatest(s.last_vacuum, s.last_autovacuum)))::double precision
           AS vacuum_age_secs
FROM tables AS t
LEFT JOIN leaves AS l ON l.relname = t.relname
LEFT JOIN pg_stat_user_tables AS s ON s.relid = l.leaf
GROUP BY t.relname, t.relkind
ORDER BY t.relname
