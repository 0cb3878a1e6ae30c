//! `herald.enqueue(...)` from a separate client process (`psql`): inside a transaction
//! that commits (the job runs, woken by NOTIFY) and one that rolls back (no job), with
//! idempotency keys, and with clear SQLSTATE errors for bad input.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use herald_testkit::{JobFilter, enqueued_jobs};
use herald_tests::db::TestDb;
use herald_tests::wait::job_count;
use herald_tests::wait::{eventually, settled, state, trail};
use herald_tests::workers::InProcessWorker;

use crate::cli::text;
use crate::effects;

/// `psql` from the newest `/usr/lib/postgresql/<version>/bin`, else from `PATH`.
fn psql_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin/psql");
            bin.exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .unwrap_or_else(|| PathBuf::from("psql"))
}

/// Runs `script` through `psql` (stop at the first error, verbose errors) on `url`.
fn psql(url: &str, script: &str) -> Output {
    crate::cli::run_with_stdin(
        Command::new(psql_bin()).args([
            url,
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-v",
            "VERBOSITY=verbose",
        ]),
        &format!("\\set VERBOSITY verbose\n{script}"),
        "psql",
    )
}

/// Registers `test.scripted` in `herald.job_types` the way a starting worker does.
async fn register_scripted(db: &TestDb) {
    sqlx::query("INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3) ON CONFLICT DO NOTHING")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

async fn wait_registered(db: &TestDb) {
    eventually(
        "test.scripted registered",
        Duration::from_secs(10),
        || async {
            let n: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM herald.job_types WHERE job_type = 'test.scripted'",
            )
            .fetch_one(&db.pool)
            .await
            .ok()?;
            (n > 0).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn sql_enqueue_in_a_committed_transaction_runs_and_a_rolled_back_one_leaves_nothing() {
    let db = TestDb::new().await;
    // A long safety poll: the job starts within the deadline only if NOTIFY woke the worker.
    let worker = InProcessWorker::start(&db, "w1", &[("HERALD_POLL_INTERVAL", "60s")]).await;
    wait_registered(&db).await;
    let rolled_back = psql(
        &db.url,
        "BEGIN;\nSELECT herald.enqueue('test.scripted', '{\"key\":\"sql-rb\",\"steps\":[{\"do\":\"succeed\"}]}');\nROLLBACK;\n",
    );
    assert!(
        rolled_back.status.success(),
        "{}",
        text(&rolled_back.stderr)
    );
    assert_eq!(job_count(&db.pool).await, 0);

    let committed = psql(
        &db.url,
        "BEGIN;\nCREATE TEMP TABLE caller_write (x int);\nSELECT herald.enqueue('test.scripted', '{\"key\":\"sql-ok\",\"steps\":[{\"do\":\"succeed\"}]}', priority => 3, idempotency_key => 'order-7');\nSELECT herald.enqueue('test.scripted', '{\"key\":\"sql-dup\",\"steps\":[]}', idempotency_key => 'order-7');\nCOMMIT;\n",
    );
    assert!(committed.status.success(), "{}", text(&committed.stderr));
    let ids: Vec<i64> = text(&committed.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(ids.len(), 2, "stdout: {}", text(&committed.stdout));
    assert_eq!(
        ids[0], ids[1],
        "the idempotency key returns the live job's id"
    );
    assert_eq!(job_count(&db.pool).await, 1);
    settled(&db.pool, &ids[..1], Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(state(&db.pool, ids[0]).await, "succeeded");
    assert_eq!(effects(&db.pool, ids[0], "done").await, 1);
    assert_eq!(trail(&db.pool, ids[0]).await.len(), 1);
    let stored = enqueued_jobs(&db.pool, &JobFilter::new().any_state())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stored: Vec<_> = stored
        .iter()
        .map(|j| (j.id, j.queue.as_str(), j.max_attempts, j.priority))
        .collect();
    assert_eq!(stored, vec![(ids[0], "default", 3, 3)]);
    db.finish().await;
}

#[tokio::test]
async fn sql_enqueue_rejects_bad_input_with_a_clear_error_and_its_sqlstate() {
    let db = TestDb::new().await;
    register_scripted(&db).await;
    let cases = [
        (
            "SELECT herald.enqueue('no.such.type', '{}');",
            "HR001",
            "unknown job type \"no.such.type\"",
        ),
        (
            "SELECT herald.enqueue('test.scripted', '[1,2]');",
            "HR002",
            "payload must be a JSON object, got array",
        ),
        (
            "SET herald.max_payload_bytes = '64';\nSELECT herald.enqueue('test.scripted', jsonb_build_object('key', repeat('x', 100), 'steps', '[]'::jsonb));",
            "HR003",
            "over the limit of 64 bytes",
        ),
        (
            "SELECT herald.enqueue('test.scripted', '{}', max_attempts => 0);",
            "HR004",
            "invalid max_attempts: must be between 1 and 1000, got 0",
        ),
        (
            "SELECT herald.enqueue('test.scripted', '{}', priority => 40000);",
            "HR004",
            "invalid priority: must be between -32768 and 32767, got 40000",
        ),
    ];
    for (script, code, message) in cases {
        let out = psql(&db.url, &format!("BEGIN;\n{script}\nCOMMIT;\n"));
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{script} succeeded");
        assert!(
            stderr.contains(&format!("ERROR:  {code}: herald.enqueue: "))
                && stderr.contains(message),
            "{script}: {stderr}"
        );
    }
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn the_payload_limit_is_a_database_setting_defaulting_to_256_kib() {
    let db = TestDb::new().await;
    register_scripted(&db).await;
    let enqueue = |size: i32| {
        sqlx::query_scalar::<_, String>(
            "SELECT herald.enqueue('test.scripted', jsonb_build_object('key', repeat('x', $1), 'steps', '[]'::jsonb))",
        )
        .bind(size)
        .fetch_one(&db.pool)
    };
    assert!(enqueue(200 * 1024).await.is_ok());
    let err = enqueue(256 * 1024)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("over the limit of 262144 bytes"), "{err}");
    assert_eq!(job_count(&db.pool).await, 1);
    db.finish().await;
}

#[tokio::test]
async fn a_job_enqueued_from_sql_that_fails_its_type_validation_dies_without_running() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    wait_registered(&db).await;
    let out = psql(
        &db.url,
        "SELECT herald.enqueue('test.scripted', '{\"key\":\"\",\"steps\":[]}');\n",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id: i64 = text(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("job id: {e}"));
    settled(&db.pool, &[id], Duration::from_secs(20)).await;
    worker.stop().await;
    assert_eq!(state(&db.pool, id).await, "dead");
    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].error_code.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(
        effects(&db.pool, id, "start").await,
        0,
        "the handler never ran"
    );
    db.finish().await;
}

#[tokio::test]
async fn concurrent_sql_enqueues_with_one_idempotency_key_yield_one_job() {
    let db = TestDb::new().await;
    register_scripted(&db).await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            sqlx::query_scalar::<_, String>(
                "SELECT herald.enqueue('test.scripted', '{\"key\":\"k\",\"steps\":[]}', idempotency_key => 'same')",
            )
            .fetch_one(&pool)
            .await
        }));
    }
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        ids.insert(
            task.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(job_count(&db.pool).await, 1);
    db.finish().await;
}
