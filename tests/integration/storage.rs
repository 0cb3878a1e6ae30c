//! Storage health you can see (issue "Storage that maintains itself", items 4 and 5): the
//! hot-table storage parameters are in place, every worker exports the storage gauges
//! with plausible values, a partitioned audit table is summed and its partitions counted,
//! and `herald stats` prints the same sample.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::metrics::{free_addr, sample, scrape};
use herald_tests::wait::eventually;
use herald_tests::workers::InProcessWorker;
use herald_worker::telemetry::storage;
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::in_process;

async fn exec(pool: &PgPool, sql: &'static str) {
    sqlx::raw_sql(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// 300 finished jobs inserted and 100 of them deleted in one session, whose statistics
/// are flushed at once; and a completed pruning run on record.
async fn churn(pool: &PgPool) {
    let mut conn = pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql(
        "INSERT INTO herald.jobs (job_type, payload, state, finished_at)
         SELECT 'storage.test', '{}', 'succeeded', now() FROM generate_series(1, 300);
         DELETE FROM herald.jobs WHERE id IN (SELECT id FROM herald.jobs ORDER BY id LIMIT 100);
         INSERT INTO herald.maintenance_runs
             (worker_id, started_at, updated_at, finished_at, outcome, policy,
              jobs_succeeded, jobs_dead, attempts_removed, operator_actions_removed)
         VALUES ('pruner', now() - interval '2 minutes', now() - interval '1 minute',
                 now() - interval '1 minute', 'completed', '{}', 3, 1, 7, 2);
         SELECT pg_stat_force_next_flush();",
    )
    .execute(&mut *conn)
    .await
    .unwrap_or_else(|e| panic!("churn: {e}"));
}

#[tokio::test]
async fn the_migration_tunes_the_hot_tables_storage_parameters() {
    let db = TestDb::new().await;
    let options: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT relname::text, coalesce(reloptions, '{}') FROM pg_class
         WHERE relnamespace = 'herald'::regnamespace AND relname IN ('jobs', 'workers', 'attempts')
         ORDER BY relname",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let of = |table: &str| {
        options
            .iter()
            .find(|(t, _)| t == table)
            .map(|(_, o)| o.clone())
            .unwrap_or_default()
    };
    for option in [
        "fillfactor=80",
        "autovacuum_vacuum_scale_factor=0.02",
        "autovacuum_vacuum_threshold=1000",
        "autovacuum_analyze_scale_factor=0.02",
        "autovacuum_vacuum_cost_delay=1",
        "autovacuum_vacuum_cost_limit=1000",
    ] {
        assert!(
            of("jobs").iter().any(|o| o == option),
            "jobs lacks {option}: {options:?}"
        );
    }
    for option in ["fillfactor=50", "autovacuum_vacuum_threshold=100"] {
        assert!(
            of("workers").iter().any(|o| o == option),
            "workers lacks {option}: {options:?}"
        );
    }
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT unnest(herald.audit_partition_storage_options())")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        audit
            .iter()
            .any(|o| o.starts_with("autovacuum_vacuum_insert_scale_factor="))
    );
    // herald.attempts is partitioned by the migrations (the old table as
    // attempts_legacy, and the DEFAULT partition); PostgreSQL keeps these options per
    // partition, so each leaf carries them.
    let leaves: Vec<(String, Vec<String>)> = sqlx::query_as(
        "SELECT c.relname::text, coalesce(c.reloptions, '{}')
         FROM pg_partition_tree('herald.attempts') AS t JOIN pg_class AS c ON c.oid = t.relid
         WHERE t.isleaf ORDER BY 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        leaves.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["attempts_default", "attempts_legacy"]
    );
    for (leaf, options) in &leaves {
        assert_eq!(options, &audit, "{leaf} carries the audit options");
    }
    db.finish().await;
}

#[tokio::test]
async fn every_worker_exports_the_storage_gauges_with_plausible_values() {
    let db = TestDb::new().await;
    churn(&db.pool).await;
    // A transaction holding an xid (and so the horizon) while the worker samples.
    let mut holder = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT pg_current_xact_id()")
        .execute(&mut *holder)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = free_addr();
    let addr_text = addr.to_string();
    let worker = InProcessWorker::start(
        &db,
        "storage-gauges",
        &[
            ("HERALD_METRICS_ADDR", addr_text.as_str()),
            ("HERALD_STORAGE_METRICS_INTERVAL", "200ms"),
            // No maintenance leader: the partitions stay those the migrations made.
            ("HERALD_MAINTENANCE_ENABLED", "false"),
        ],
    )
    .await;
    let jobs = "table=\"jobs\"";
    let text = eventually(
        "the storage gauges",
        Duration::from_secs(20),
        || async move {
            let text = scrape(addr).await?;
            let live = sample(&text, "herald_table_live_tuples", jobs)?;
            let dead = sample(&text, "herald_table_dead_tuples", jobs)?;
            let held = sample(&text, "herald_oldest_xact_age_seconds", "")?;
            (live >= 200.0 && dead >= 100.0 && held >= 1.0).then_some(text)
        },
    )
    .await;
    assert!(
        sample(&text, "herald_table_size_bytes", jobs).is_some_and(|b| b >= 8192.0),
        "{text}"
    );
    assert!(
        sample(&text, "herald_index_size_bytes", jobs).is_some_and(|b| b >= 8192.0),
        "{text}"
    );
    assert!(
        sample(&text, "herald_table_size_bytes", "table=\"attempts\"").is_some(),
        "{text}"
    );
    assert!(
        sample(&text, "herald_xmin_horizon_age_xids", "").is_some_and(|x| x >= 0.0),
        "{text}"
    );
    for (state, count) in [("present", 2.0), ("ahead", 0.0)] {
        assert_eq!(
            sample(
                &text,
                "herald_audit_partitions",
                &format!("state=\"{state}\"")
            ),
            Some(count),
            "the migrations' attempts_legacy and DEFAULT partitions, none ahead before a leader's run: {text}"
        );
    }
    assert_eq!(
        sample(&text, "herald_maintenance_last_run_rows", jobs),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "herald_maintenance_last_run_rows",
            "table=\"attempts\""
        ),
        Some(7.0)
    );
    holder.rollback().await.unwrap_or_else(|e| panic!("{e}"));

    // Vacuumed: the age appears, the dead rows go.
    exec(&db.pool, "VACUUM herald.jobs").await;
    eventually(
        "the vacuum to show",
        Duration::from_secs(20),
        || async move {
            let text = scrape(addr).await?;
            let age = sample(&text, "herald_table_last_vacuum_age_seconds", jobs)?;
            let dead = sample(&text, "herald_table_dead_tuples", jobs)?;
            ((0.0..60.0).contains(&age) && dead == 0.0).then_some(())
        },
    )
    .await;
    worker.stop().await;
    db.finish().await;
}

#[tokio::test]
async fn a_partitioned_audit_table_is_summed_and_its_partitions_ahead_are_counted() {
    let db = TestDb::new().await;
    churn(&db.pool).await;
    // As migrated: attempts_legacy (below the first job id) and the DEFAULT partition.
    let migrated = storage::sample(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            migrated.audit_partitions.present,
            migrated.audit_partitions.ahead
        ),
        (2, 0)
    );
    let attempts = migrated.tables.iter().find(|t| t.table == "attempts");
    assert!(
        attempts.is_some_and(|t| t.partitioned && t.partitions == 2),
        "{migrated:?}"
    );

    // Range partitions as the maintenance leader makes them: 300 job ids are issued, so
    // [1, 1000) holds them, [1000, 2000) and [2000, 3000) are ahead.
    exec(
        &db.pool,
        "SELECT herald.create_attempt_partition(1, 1000);
         SELECT herald.create_attempt_partition(1000, 2000);
         SELECT herald.create_attempt_partition(2000, 3000);
         UPDATE herald.jobs SET attempt = 1;
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at,
                                      finished_at, duration_ms, outcome, job_state)
         SELECT id, 'storage.test', 'default', 1, 'w', now(), now(), 1, 'succeeded', 'succeeded'
         FROM herald.jobs;",
    )
    .await;
    let parted = storage::sample(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (
            parted.audit_partitions.present,
            parted.audit_partitions.ahead
        ),
        (5, 2)
    );
    let attempts = parted.tables.iter().find(|t| t.table == "attempts");
    assert!(
        attempts.is_some_and(|t| t.partitioned && t.partitions == 5 && t.size_bytes > 0),
        "summed over the partitions: {parted:?}"
    );
    assert!(
        !parted.tables.iter().any(|t| [
            "attempts_p1",
            "attempts_p1000",
            "attempts_legacy",
            "attempts_default"
        ]
        .contains(&t.table.as_str())),
        "partitions are not tables of their own: {parted:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn herald_stats_prints_the_storage_section_in_text_and_json() {
    let db = TestDb::new().await;
    churn(&db.pool).await;
    let text = in_process(Some(&db.url), &["stats"]).await;
    assert!(
        text.status.success(),
        "{}",
        String::from_utf8_lossy(&text.stderr)
    );
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    for line in [
        "Storage\n",
        "table ",
        "\njobs ",
        "\nattempts ",
        "transaction horizon: oldest transaction ",
        "audit partitions: 2 present, 0 ahead of the job ids\n",
        "removed 4 jobs, 7 audit rows, 2 operator actions, 0 run records",
    ] {
        assert!(text.contains(line), "{line:?} missing in\n{text}");
    }

    let json = in_process(Some(&db.url), &["stats", "--json"]).await;
    assert!(
        json.status.success(),
        "{}",
        String::from_utf8_lossy(&json.stderr)
    );
    let report: Value = serde_json::from_slice(&json.stdout).unwrap_or_else(|e| panic!("{e}"));
    let storage = &report["storage"];
    let tables = storage["tables"].as_array().cloned().unwrap_or_default();
    let jobs = tables
        .iter()
        .find(|t| t["table"] == "jobs")
        .cloned()
        .unwrap_or_default();
    assert!(
        jobs["size_bytes"].as_i64().is_some_and(|b| b > 0),
        "{storage}"
    );
    assert!(
        jobs["index_size_bytes"].as_i64().is_some_and(|b| b > 0),
        "{storage}"
    );
    for field in [
        "live_tuples",
        "dead_tuples",
        "partitioned",
        "partitions",
        "last_vacuum_age_secs",
    ] {
        assert!(jobs.get(field).is_some(), "{field} missing in {jobs}");
    }
    assert!(
        storage["horizon"]["oldest_xact_age_secs"].is_number(),
        "{storage}"
    );
    assert!(storage["horizon"]["xmin_age_xids"].is_number(), "{storage}");
    assert_eq!(storage["audit_partitions"]["present"], 2);
    assert_eq!(storage["audit_partitions"]["ahead"], 0);
    assert_eq!(storage["last_pruning"]["jobs"], 4);
    assert_eq!(storage["last_pruning"]["attempts"], 7);
    assert!(
        storage["last_pruning"]["age_secs"]
            .as_f64()
            .is_some_and(|a| a >= 59.0)
    );
    db.finish().await;
}
