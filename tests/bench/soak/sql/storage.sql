-- Herald's storage, table by table: every table of the `herald` schema (a partitioned
-- table summed over all its partitions, wherever they live) with its indexes and TOAST,
-- in bytes, and its dead tuples. Catalog and statistics views only; no table is read.
SELECT t.relname::text AS table_name,
       sum(pg_total_relation_size(coalesce(p.relid, t.oid)))::int8 AS bytes,
       coalesce(sum(s.n_dead_tup), 0)::int8 AS dead_tuples
FROM pg_class AS t
JOIN pg_namespace AS n ON n.oid = t.relnamespace
LEFT JOIN LATERAL pg_partition_tree(t.oid) AS p ON true
LEFT JOIN pg_stat_user_tables AS s ON s.relid = coalesce(p.relid, t.oid)
WHERE n.nspname = 'herald' AND t.relkind IN ('r', 'p') AND NOT t.relispartition
GROUP BY t.relname
ORDER BY t.relname
