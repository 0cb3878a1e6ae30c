-- Storage that maintains itself, item 4: per-table storage parameters for the tables
-- that churn, so autovacuum keeps up with a queue instead of treating it like a
-- slowly-growing business table. Only reloptions change: no table is rewritten, and
-- ALTER TABLE ... SET (storage parameter) takes SHARE UPDATE EXCLUSIVE, which does not
-- block enqueues, claims, finishes or pruning (it waits for a running VACUUM).
-- Storage health is visible in `herald stats` and the `herald_table_*` metrics
-- (worker/src/telemetry/storage.rs), so the effect of these settings can be watched.

-- herald.jobs: every job is inserted, claimed (UPDATE), heartbeated (UPDATE), finished
-- (UPDATE) and later pruned (DELETE), so its dead tuples come from every job, not from
-- a few edits.
--
-- fillfactor = 80: leave 20 % of each new heap page free for later versions of its rows.
-- Honestly, which updates can be HOT (heap-only: no new index entries) given the indexes
-- of herald.jobs? An update is HOT only when it changes no column used by any index
-- (key columns and partial-index predicates alike):
--   claim     sets state, locked_by, claimed_at, heartbeat_at: `state` is in every
--             partial index's predicate and in jobs_state_type_idx -> never HOT
--   heartbeat sets heartbeat_at, indexed by jobs_running_heartbeat_idx -> never HOT
--   finish    sets state, run_at, locked_by, finished_at -> never HOT
--   release, rescue, replay, cancel: change state -> never HOT
-- Only updates of unindexed columns alone (attempt, last_error_code, payload, ...) can be
-- HOT, and Herald's hot path issues none. So fillfactor does NOT buy HOT updates here.
-- What it buys: PostgreSQL puts a row's new version on the same page when it fits, so a
-- claim or finish dirties one heap page instead of two and does not extend the table or
-- search the free-space map; and on-access pruning (any read of a page that is nearly
-- full) reclaims the space of the dead versions on that page between vacuums, so the
-- next update of a neighbour still fits. The cost is up to 20 % more pages for pending
-- jobs, which a queue that drains does not keep. It applies to pages written from now
-- on; existing pages keep their fill until rewritten (VACUUM FULL, pg_repack) or
-- emptied by pruning.
--
-- autovacuum_vacuum_scale_factor = 0.02 (default 0.2) and threshold = 1000 (default 50):
-- vacuum after 1000 + 2 % of the table's rows are dead instead of 20 %: on a table of
-- 10 million finished jobs the default waits for 2 million dead tuples (each one still
-- indexed by several indexes, which claims must step over); this waits for ~200 000.
-- The threshold keeps a near-empty queue from being vacuumed every minute.
-- autovacuum_vacuum_insert_scale_factor = 0.05 (default 0.2): inserts alone also
-- trigger a vacuum sooner, so new pages are marked all-visible and frozen in small bites.
-- autovacuum_analyze_scale_factor = 0.02 (default 0.1), threshold 1000: the planner's
-- statistics on `state` (which partial index serves a claim, how many rows a filter
-- returns) follow a backlog that builds up in minutes.
-- autovacuum_vacuum_cost_delay = 1 (ms; default 2) and autovacuum_vacuum_cost_limit =
-- 1000 (default vacuum_cost_limit, 200): a vacuum of this table works about ten times
-- faster than the server-wide default, so it finishes before the next batch of dead
-- tuples arrives. A table with its own cost settings is left out of autovacuum's
-- server-wide cost balancing; that is intended for the one hot table.
ALTER TABLE herald.jobs SET (
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.02,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.05,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_analyze_threshold = 1000,
    autovacuum_vacuum_cost_delay = 1,
    autovacuum_vacuum_cost_limit = 1000
);

-- herald.workers: a handful of rows, each updated every heartbeat (heartbeat_at is not
-- indexed, so these updates ARE HOT and leave no index entries). fillfactor = 50 keeps
-- room on the page for every row's next version; scale factor 0 and thresholds of 100
-- vacuum and analyze it after 100 dead rows whatever its size, instead of letting a
-- ten-row table accumulate thousands of dead versions (50 + 20 % of 10 rows is easily
-- reached, but a default-sized threshold on a grown table is not).
ALTER TABLE herald.workers SET (
    fillfactor = 50,
    autovacuum_vacuum_scale_factor = 0,
    autovacuum_vacuum_threshold = 100,
    autovacuum_analyze_scale_factor = 0,
    autovacuum_analyze_threshold = 100
);

-- herald.attempts: append-only audit (one row per attempt), deleted only by pruning.
-- Without updates, autovacuum is driven by inserts: autovacuum_vacuum_insert_scale_factor
-- = 0.02 (default 0.2) with threshold 10000 (default 1000) vacuums after 10 000 + 2 % new
-- rows, so the visibility map stays current (index-only scans of the audit indexes skip
-- the heap; later vacuums skip all-visible pages) and rows are frozen in small bites
-- instead of by one anti-wraparound vacuum over the whole history.
-- autovacuum_vacuum_scale_factor = 0.05: pruning deletes whole days at once; their dead
-- tuples are reclaimed soon after. autovacuum_analyze_scale_factor = 0.02: `finished_at`
-- ranges stay estimated right as the table grows.
--
-- herald.attempts may be (or become) partitioned by job id range. PostgreSQL 15 refuses
-- these parameters on a partitioned parent ("unrecognized parameter"), and a partition
-- does not inherit them: each partition gets them when it is created. The options live
-- in ONE place, herald.audit_partition_storage_options(), for whoever creates
-- partitions: `CREATE TABLE ... PARTITION OF herald.attempts ... WITH (<options>)`, or
-- afterwards `SELECT herald.apply_audit_storage_options()`, which sets them on
-- herald.attempts itself while it is a plain table, else on every leaf partition.
CREATE FUNCTION herald.audit_partition_storage_options() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT ARRAY[
        'autovacuum_vacuum_insert_scale_factor=0.02',
        'autovacuum_vacuum_insert_threshold=10000',
        'autovacuum_vacuum_scale_factor=0.05',
        'autovacuum_analyze_scale_factor=0.02'
    ]
$$;

COMMENT ON FUNCTION herald.audit_partition_storage_options() IS
    'Storage parameters of herald.attempts (or of each of its partitions): pass to CREATE TABLE ... WITH (array_to_string(options, '', '')), or call herald.apply_audit_storage_options().';

-- Sets herald.audit_partition_storage_options() on herald.attempts when it is a plain
-- table, else on each of its leaf partitions (idempotent); returns how many tables it set.
CREATE FUNCTION herald.apply_audit_storage_options() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    target regclass;
    n integer := 0;
BEGIN
    FOR target IN
        SELECT c.oid::regclass
        FROM pg_class AS c
        WHERE c.oid = 'herald.attempts'::regclass AND c.relkind = 'r'
        UNION ALL
        SELECT t.relid
        FROM pg_partition_tree('herald.attempts'::regclass) AS t
        WHERE t.isleaf
    LOOP
        EXECUTE format('ALTER TABLE %s SET (%s)', target,
                       array_to_string(herald.audit_partition_storage_options(), ', '));
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

SELECT herald.apply_audit_storage_options();
