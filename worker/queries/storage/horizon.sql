-- The oldest transaction horizon of this database: what keeps VACUUM from removing
-- dead rows of every table. One row. Reads pg_stat_activity, pg_prepared_xacts and
-- pg_replication_slots (views over shared memory; no table is scanned).
--   oldest_xact_age_secs  seconds since the start of the oldest transaction that holds
--                         the horizon: a backend of this database with a transaction id
--                         or a snapshot (backend_xid / backend_xmin), or a prepared
--                         transaction; 0 when none. Other roles' sessions show their
--                         start time only to members of pg_read_all_stats (pg_monitor).
--                         This session (the one sampling) is left out.
--   xmin_horizon_age_xids the age, in transaction ids, of the oldest xmin that holds
--                         the horizon: those backends, prepared transactions, and
--                         replication slots (xmin and catalog_xmin) of this database or
--                         physical; 0 when none
SELECT coalesce(extract(epoch FROM clock_timestamp() - least(
           (SELECT min(a.xact_start)
            FROM pg_stat_activity AS a
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
              AND (a.backend_xid IS NOT NULL OR a.backend_xmin IS NOT NULL)),
           (SELECT min(p.prepared)
            FROM pg_prepared_xacts AS p
            WHERE p.database = current_database()))), 0)::double precision
           AS "oldest_xact_age_secs!",
       greatest(
           (SELECT max(greatest(age(a.backend_xid), age(a.backend_xmin)))
            FROM pg_stat_activity AS a
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()),
           (SELECT max(age(p.transaction))
            FROM pg_prepared_xacts AS p
            WHERE p.database = current_database()),
           (SELECT max(greatest(age(r.xmin), age(r.catalog_xmin)))
            FROM pg_replication_slots AS r
            WHERE r.database IS NULL OR r.database = current_database()),
           0)::bigint AS "xmin_horizon_age_xids!"
