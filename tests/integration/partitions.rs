//! Partitions of `herald.attempts`: created ahead by the maintenance leader, a missing
//! one never rejects an audit row (DEFAULT partition, moved out later), closed ones
//! dropped or compacted with the run record saying so, and the upgrade of a deployment
//! whose audit table predates partitioning.

use std::time::Duration;

use herald_tests::db::{TestDb, server_url, with_database};
use herald_tests::wait::eventually;
use herald_tests::workers::InProcessWorker;
use sqlx::PgPool;

use crate::retention::{DAY, scalar_i64, seed_attempt, seed_job, seed_many_succeeded};

/// The range partitions: (name, lower bound (None: MINVALUE), upper bound), lowest first.
async fn partitions(pool: &PgPool) -> Vec<(String, Option<i64>, i64)> {
    sqlx::query_as("SELECT name, lower_bound, upper_bound FROM herald.attempt_partitions()")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("partitions: {e}"))
}

/// Which partition holds the audit row of (`job_id`, `attempt`).
async fn home(pool: &PgPool, job_id: i64, attempt: i32) -> Option<String> {
    sqlx::query_scalar(
        "SELECT tableoid::regclass::text FROM herald.attempts WHERE job_id = $1 AND attempt = $2",
    )
    .bind(job_id)
    .bind(attempt)
    .fetch_optional(pool)
    .await
    .unwrap_or_else(|e| panic!("home: {e}"))
}

/// Inserting a second audit row for (`job_id`, `attempt`) is refused as a duplicate.
async fn assert_duplicate_refused(pool: &PgPool, job_id: i64, attempt: i32) {
    let dup = sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         VALUES ($1, 'dup', 'default', $2, 'dup', now(), now(), 0, 'succeeded', 'succeeded')",
    )
    .bind(job_id)
    .bind(attempt)
    .execute(pool)
    .await;
    let code = dup.err().and_then(|e| {
        e.as_database_error()
            .and_then(|d| d.code())
            .map(|c| c.into_owned())
    });
    assert_eq!(
        code.as_deref(),
        Some("23505"),
        "a duplicate ({job_id}, {attempt})"
    );
}

/// Every partition of `herald.attempts` carries the audit table's storage parameters
/// (PostgreSQL keeps them per partition, so whoever creates one must set them).
async fn assert_every_partition_tuned(pool: &PgPool) {
    let untuned: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'herald.attempts'::regclass
           AND NOT (coalesce(c.reloptions, '{}') @> herald.audit_partition_storage_options())",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        untuned.is_empty(),
        "partitions without the audit storage parameters: {untuned:?}"
    );
}

fn small_partitions(size: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("HERALD_AUDIT_PARTITION_JOBS", size),
        ("HERALD_MAINTENANCE_INTERVAL", "100ms"),
    ]
}

async fn set_next_job_id(pool: &PgPool, next: i64) {
    sqlx::query("SELECT setval(pg_get_serial_sequence('herald.jobs', 'id'), $1)")
        .bind(next - 1)
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("setval: {e}"));
}

#[tokio::test]
async fn the_leader_creates_partitions_ahead_and_moves_rows_from_the_default_partition_into_them() {
    let db = TestDb::new().await;
    let p = &db.pool;
    // A fresh database has no range partition beyond the (empty) legacy one: these wait
    // in the DEFAULT partition, accepted.
    seed_attempt(p, 5, "default", 1, "retrying", 60.0).await;
    seed_attempt(p, 55, "default", 1, "retrying", 60.0).await;
    assert_eq!(
        home(p, 5, 1).await.as_deref(),
        Some("herald.attempts_default")
    );
    assert_eq!(
        home(p, 55, 1).await.as_deref(),
        Some("herald.attempts_default")
    );

    let worker = InProcessWorker::start(&db, "parts-ahead", &small_partitions("10")).await;
    eventually(
        "partitions created ahead",
        Duration::from_secs(30),
        || async { (partitions(p).await.last().map(|l| l.2) >= Some(31)).then_some(()) },
    )
    .await;
    let names: Vec<(String, Option<i64>, i64)> = partitions(p).await;
    assert_eq!(
        names
            .iter()
            .filter(|(n, ..)| n != "attempts_legacy")
            .cloned()
            .collect::<Vec<_>>(),
        vec![
            ("attempts_p1".to_owned(), Some(1), 11),
            ("attempts_p11".to_owned(), Some(11), 21),
            ("attempts_p21".to_owned(), Some(21), 31),
        ],
        "the partition holding the next job id (1) and two ahead, 10 ids each"
    );
    assert_eq!(
        home(p, 5, 1).await.as_deref(),
        Some("herald.attempts_p1"),
        "moved from DEFAULT into its new partition"
    );
    assert_every_partition_tuned(p).await;
    assert_eq!(
        home(p, 55, 1).await.as_deref(),
        Some("herald.attempts_default")
    );

    // The jobs id sequence passes 55: the leader catches up and moves job 55's row.
    set_next_job_id(p, 58).await;
    eventually(
        "job 55's partition created",
        Duration::from_secs(30),
        || async { (home(p, 55, 1).await.as_deref() == Some("herald.attempts_p51")).then_some(()) },
    )
    .await;
    // Two partitions ahead of 58; the closed empty ones in between (ids handed out, no
    // row) dropped; [1, 11) kept: job 5's failed attempt is younger than 30 days.
    let ranges = || async {
        partitions(p)
            .await
            .into_iter()
            .map(|(_, lo, hi)| (lo, hi))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        (Some(1), 11),
        (Some(51), 61),
        (Some(61), 71),
        (Some(71), 81),
    ];
    eventually(
        "partitions ahead of 58, closed empty ones dropped",
        Duration::from_secs(30),
        || async { (ranges().await == expected).then_some(()) },
    )
    .await;
    worker.stop().await;
    assert_eq!(ranges().await, expected);
    assert_eq!(
        scalar_i64(p, "SELECT count(*) FROM herald.attempts").await,
        2,
        "nothing lost"
    );
    assert_eq!(
        scalar_i64(p, "SELECT count(*) FROM herald.attempts_default").await,
        0
    );
    assert_duplicate_refused(p, 55, 1).await;
    assert_duplicate_refused(p, 5, 1).await;
    db.finish().await;
}

#[derive(Debug, sqlx::FromRow, PartialEq)]
struct RunCounts {
    attempts_removed: i64,
    attempt_partitions_dropped: i64,
    attempt_partitions_compacted: i64,
}

async fn run_totals(pool: &PgPool) -> RunCounts {
    sqlx::query_as(
        "SELECT coalesce(sum(attempts_removed), 0)::bigint AS attempts_removed,
                coalesce(sum(attempt_partitions_dropped), 0)::bigint AS attempt_partitions_dropped,
                coalesce(sum(attempt_partitions_compacted), 0)::bigint AS attempt_partitions_compacted
         FROM herald.maintenance_runs",
    )
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("run totals: {e}"))
}

async fn exists(pool: &PgPool, relation: &str) -> bool {
    sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL")
        .bind(relation)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("to_regclass: {e}"))
}

#[tokio::test]
async fn a_closed_partition_whose_rows_are_all_past_their_age_is_dropped_and_the_run_says_so() {
    let db = TestDb::new().await;
    let p = &db.pool;
    let ids = seed_many_succeeded(p, 20, 4.0, &["succeeded"]).await;
    assert_eq!((ids[0], ids[19]), (1, 20));
    let worker = InProcessWorker::start(&db, "parts-drop", &small_partitions("10")).await;
    eventually("the closed partition dropped", Duration::from_secs(30), || async {
        let done = scalar_i64(
            p,
            "SELECT count(*) FROM herald.maintenance_runs WHERE outcome = 'completed' AND attempt_partitions_dropped > 0",
        )
        .await;
        (done > 0).then_some(())
    })
    .await;
    worker.stop().await;
    // Ids 1..20 were handed out and none is live: [1, 21) is closed; its jobs were
    // pruned (4 days > 3) and so were their successes.
    assert!(
        !exists(p, "herald.attempts_p1").await,
        "{:?}",
        partitions(p).await
    );
    assert!(
        !exists(p, "herald.attempts_legacy").await,
        "the empty legacy partition went too"
    );
    assert!(
        exists(p, "herald.attempts_p21").await,
        "the partition receiving ids stays"
    );
    assert_eq!(
        scalar_i64(p, "SELECT count(*) FROM herald.attempts").await,
        0
    );
    assert_eq!(
        run_totals(p).await,
        RunCounts {
            attempts_removed: 20,
            attempt_partitions_dropped: 2,
            attempt_partitions_compacted: 0
        },
        "the run record counts the dropped partitions and their rows"
    );
    let text = crate::retention::herald_retention(&db, &[], false);
    assert!(
        text.contains("audit partitions: 2 dropped, 0 compacted"),
        "{text}"
    );
    db.finish().await;
}

#[tokio::test]
async fn compaction_keeps_failed_attempts_and_rows_of_existing_jobs_and_drops_successes_of_pruned_jobs()
 {
    let db = TestDb::new().await;
    let p = &db.pool;
    let mut pruned = Vec::new();
    for _ in 0..6 {
        pruned.push(
            seed_job(
                p,
                "default",
                "succeeded",
                Some(4.0 * DAY),
                &[("succeeded", 4.0 * DAY)],
            )
            .await,
        );
    }
    let retried = seed_job(
        p,
        "default",
        "succeeded",
        Some(4.0 * DAY),
        &[("retrying", 5.0 * DAY), ("succeeded", 4.0 * DAY)],
    )
    .await;
    let dead = seed_job(
        p,
        "default",
        "dead",
        Some(5.0 * DAY),
        &[("retrying", 5.0 * DAY + 60.0), ("dead", 5.0 * DAY)],
    )
    .await;
    let recent = seed_job(p, "default", "succeeded", Some(DAY), &[("succeeded", DAY)]).await;
    assert_eq!(recent, 9);
    // Job 10 was purged long ago; its old failed attempt is past 30 days.
    seed_attempt(p, 10, "default", 1, "retrying", 40.0 * DAY).await;
    // A live job just above: [1, 11) is closed.
    set_next_job_id(p, 11).await;
    let live = seed_job(p, "default", "pending", None, &[]).await;
    assert_eq!(live, 11);
    sqlx::query("SELECT herald.create_attempt_partition(1, 11)")
        .execute(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // `herald retention` foresees it: 8 of 12 rows go, at least half: compacted.
    let preview: serde_json::Value =
        serde_json::from_str(&crate::retention::herald_retention(&db, &[], true))
            .unwrap_or_else(|e| panic!("{e}"));
    let audit = preview["next_run"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["class"] == "audit_rows").cloned());
    assert_eq!(
        audit.map(|r| r["rows"].clone()),
        Some(8.into()),
        "{preview}"
    );

    let worker = InProcessWorker::start(&db, "parts-compact", &small_partitions("10")).await;
    eventually("the partition compacted", Duration::from_secs(30), || async {
        let done = scalar_i64(
            p,
            "SELECT count(*) FROM herald.maintenance_runs WHERE outcome = 'completed' AND attempt_partitions_compacted > 0",
        )
        .await;
        (done > 0).then_some(())
    })
    .await;
    worker.stop().await;
    let left: Vec<(i64, i32, String)> = sqlx::query_as(
        "SELECT job_id, attempt, tableoid::regclass::text FROM herald.attempts ORDER BY job_id, attempt",
    )
    .fetch_all(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let part = "herald.attempts_p1".to_owned();
    assert_eq!(
        left,
        vec![
            (retried, 1, part.clone()),
            (dead, 1, part.clone()),
            (dead, 2, part.clone()),
            (recent, 1, part.clone()),
        ],
        "kept: the pruned job's young failed attempt, every row of the jobs that exist"
    );
    let totals = run_totals(p).await;
    assert_eq!(
        (totals.attempts_removed, totals.attempt_partitions_compacted),
        (8, 1),
        "{totals:?}"
    );
    assert_duplicate_refused(p, dead, 2).await;
    assert_every_partition_tuned(p).await;
    let jobs: Vec<i64> = sqlx::query_scalar("SELECT id FROM herald.jobs ORDER BY id")
        .fetch_all(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs, vec![dead, recent, live]);
    db.finish().await;
}

/// The migrations before partitioning, then rows, then the partitioning migrations:
/// every row is kept, (job_id, attempt) stays unique, ids continue, inserts work, and a
/// role granted the operator profile before the upgrade still reads the audit trail.
#[tokio::test]
async fn upgrading_a_populated_audit_table_to_partitions_keeps_every_row_and_the_unique_key() {
    let server = server_url();
    let name = format!("herald_upgrade_{:016x}", rand::random::<u64>());
    let admin = PgPool::connect(&server)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _cleanup = DropScratch {
        server: server.clone(),
        name: name.clone(),
    };
    let url = with_database(&server, &name);
    let pool = PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut before = sqlx::migrate!("../migrations");
    before.migrations = before
        .migrations
        .iter()
        .filter(|m| m.version < 20261209000100)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    before
        .run(&pool)
        .await
        .unwrap_or_else(|e| panic!("old migrations: {e}"));
    let role = format!("{name}_oncall");
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role}; SELECT herald.grant_operator('{role}');
         INSERT INTO herald.jobs (job_type, payload, state, attempt, finished_at)
         SELECT 'old', '{{}}', 'succeeded', 2, now() FROM generate_series(1, 500);
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         SELECT j.id, 'old', 'default', n, 'w', now(), now(), 1, CASE n WHEN 1 THEN 'retrying' ELSE 'succeeded' END, 'succeeded'
         FROM herald.jobs j, generate_series(1, 2) n"
    )))
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"));
    let rows_before: Vec<(i64, i64, i32)> =
        sqlx::query_as("SELECT id, job_id, attempt FROM herald.attempts ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows_before.len(), 1000);

    herald_worker::db::migrate(&pool)
        .await
        .unwrap_or_else(|e| panic!("partitioning migrations: {e}"));
    let rows_after: Vec<(i64, i64, i32)> =
        sqlx::query_as("SELECT id, job_id, attempt FROM herald.attempts ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows_after, rows_before, "every row kept, as it was");
    let kind: String = sqlx::query_scalar(
        "SELECT relkind::text FROM pg_class WHERE oid = 'herald.attempts'::regclass",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(kind, "p", "herald.attempts is partitioned");
    let parts = partitions(&pool).await;
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert_eq!(
        (parts[0].0.as_str(), parts[0].1, parts[0].2),
        ("attempts_legacy", None, 501 + 1_000_000),
        "the old table is the partition below the bound (ids handed out + the margin)"
    );
    assert_duplicate_refused(&pool, 1, 1).await;
    // A new job's attempt: in the legacy partition (below the bound), id continued.
    let new_id: i64 = sqlx::query_scalar(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         VALUES (501, 'new', 'default', 1, 'w', now(), now(), 1, 'succeeded', 'succeeded') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("insert after the upgrade: {e}"));
    // 1001 went to the refused duplicate above (a sequence value is never given back).
    assert_eq!(new_id, 1002, "ids continue after the largest");
    // Beyond every partition: the DEFAULT partition takes it.
    sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         VALUES (5000000, 'new', 'default', 1, 'w', now(), now(), 1, 'succeeded', 'succeeded')",
    )
    .execute(&pool)
    .await
    .unwrap_or_else(|e| panic!("insert beyond the partitions: {e}"));
    assert_eq!(
        home(&pool, 5_000_000, 1).await.as_deref(),
        Some("herald.attempts_default")
    );
    assert_duplicate_refused(&pool, 5_000_000, 1).await;
    let granted: bool = sqlx::query_scalar(
        "SELECT has_table_privilege($1, 'herald.attempts', 'SELECT')
            AND has_table_privilege($1, 'herald.attempts', 'DELETE')",
    )
    .bind(&role)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        granted,
        "the operator role keeps its rights on the audit trail"
    );

    pool.close().await;
    admin.close().await;
}

/// Drops the upgrade test's scratch database and its role when the test ends, passed or
/// not (on a thread of its own: `Drop` runs inside the test's runtime).
struct DropScratch {
    server: String,
    name: String,
}

impl Drop for DropScratch {
    fn drop(&mut self) {
        let (server, name) = (self.server.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = PgPool::connect(&server).await.ok()?;
                for drop in [
                    format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                    format!("DROP ROLE IF EXISTS {name}_oncall"),
                ] {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                        .execute(&admin)
                        .await;
                }
                admin.close().await;
                Some(())
            })
        });
        let _ = dropped.join();
    }
}

/// A query that starts while the leader moves rows out of the DEFAULT partition waits and
/// then sees every row: it never lists the partitions before the new one exists and reads
/// the emptied DEFAULT partition after (migration 20261213000200).
#[tokio::test]
async fn a_reader_during_a_partition_creation_sees_every_row_moved_out_of_the_default_partition() {
    let db = TestDb::new().await;
    let p = &db.pool;
    for job in 1..=4 {
        seed_attempt(p, job, "default", 1, "dead", 60.0).await;
    }
    assert_eq!(
        home(p, 3, 1).await.as_deref(),
        Some("herald.attempts_default")
    );

    // The leader's transaction, left open while the reader starts.
    let mut leader = p.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let moved: i64 = sqlx::query_scalar("SELECT herald.create_attempt_partition(1, 11)")
        .fetch_one(&mut *leader)
        .await
        .unwrap_or_else(|e| panic!("create partition: {e}"));
    assert_eq!(moved, 4);
    let reader_pool = p.clone();
    let reader = tokio::spawn(async move {
        sqlx::query_scalar::<_, i64>(
            "SELECT count(*) FROM herald.attempts WHERE /* partition-reader */ true",
        )
        .fetch_one(&reader_pool)
        .await
        .unwrap_or_else(|e| panic!("read: {e}"))
    });
    // The reader is waiting for a lock the leader holds.
    eventually(
        "the reader to wait for the leader",
        Duration::from_secs(30),
        || async {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity
             WHERE wait_event_type = 'Lock' AND query LIKE '%partition-reader%'
               AND query NOT LIKE '%pg_stat_activity%'",
            )
            .fetch_one(p)
            .await
            .ok()?;
            (waiting == 1).then_some(())
        },
    )
    .await;
    leader.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let seen = reader.await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        seen, 4,
        "the reader missed rows moved into the new partition"
    );
    assert_eq!(home(p, 3, 1).await.as_deref(), Some("herald.attempts_p1"));
}
