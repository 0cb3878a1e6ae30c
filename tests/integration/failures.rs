//! Panics, undecodable payloads and hung handlers: each is its own job's failure, never
//! the worker's.

use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::{settled, state, trail};
use herald_tests::workers::InProcessWorker;
use serde_json::json;

use crate::enqueue_scripted;

const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn a_panic_is_audited_and_the_worker_lives_on() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    let panicky = enqueue_scripted(
        &db.pool,
        "p",
        vec![
            Step::Panic {
                message: "boom at step 1".into(),
            },
            Step::Succeed,
        ],
        2,
    )
    .await;
    settled(&db.pool, &[panicky], SETTLE).await;
    let after = enqueue_scripted(&db.pool, "after", vec![Step::Succeed], 1).await;
    settled(&db.pool, &[after], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, panicky).await;
    assert_eq!(rows[0].outcome, "retrying");
    assert_eq!(rows[0].error_code.as_deref(), Some("INTERNAL_ERROR"));
    let message = rows[0].message.clone().unwrap_or_default();
    assert!(
        message.contains("boom at step 1") && message.contains("support/jobs.rs"),
        "{message}"
    );
    assert_eq!(rows[1].outcome, "succeeded");
    assert_eq!(state(&db.pool, after).await, "succeeded");
    db.finish().await;
}

#[tokio::test]
async fn an_undecodable_payload_kills_only_its_own_job() {
    let db = TestDb::new().await;
    let good_before = enqueue_scripted(&db.pool, "good1", vec![Step::Succeed], 3).await;
    let bad = NewJob::from_json(
        "test.scripted",
        "default",
        3,
        json!({ "key": 42, "unexpected": true }),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bad = enqueue(&db.pool, bad)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    let good_after = enqueue_scripted(&db.pool, "good2", vec![Step::Succeed], 3).await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[good_before, bad, good_after], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, bad).await;
    assert_eq!(rows.len(), 1, "a bad payload must not be retried: {rows:?}");
    assert_eq!(rows[0].outcome, "dead");
    assert_eq!(rows[0].error_code.as_deref(), Some("VALIDATION_ERROR"));
    assert_eq!(rows[0].error_class.as_deref(), Some("terminal"));
    assert_eq!(state(&db.pool, good_before).await, "succeeded");
    assert_eq!(state(&db.pool, good_after).await, "succeeded");
    db.finish().await;
}

#[tokio::test]
async fn a_handler_that_overruns_its_timeout_fails_retryably_with_timeout() {
    let db = TestDb::new().await;
    // test.scripted's TIMEOUT is 3 s.
    let id = enqueue_scripted(
        &db.pool,
        "slow",
        vec![Step::Sleep { ms: 60_000 }, Step::Succeed],
        2,
    )
    .await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows[0].outcome, "retrying");
    assert_eq!(rows[0].error_code.as_deref(), Some("TIMEOUT"));
    assert_eq!(rows[1].outcome, "succeeded");
    db.finish().await;
}

#[tokio::test]
async fn secrets_in_error_messages_never_reach_the_audit_row() {
    let db = TestDb::new().await;
    let step = Step::Fail {
        code: "VALIDATION_ERROR".into(),
        message: "login failed password=hunter2 card 4111 1111 1111 1111\nFORGED LINE".into(),
    };
    let id = enqueue_scripted(&db.pool, "secret", vec![step], 1).await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let message = trail(&db.pool, id).await[0]
        .message
        .clone()
        .unwrap_or_default();
    assert!(
        !message.contains("hunter2") && !message.contains("4111"),
        "{message}"
    );
    assert!(!message.contains('\n'), "{message}");
    assert!(
        message.contains("password=[REDACTED]") && message.contains("[REDACTED-CARD]"),
        "{message}"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_payload_nested_deeper_than_a_json_value_allows_never_breaks_the_claim() {
    let db = TestDb::new().await;
    let good = enqueue_scripted(&db.pool, "good", vec![Step::Succeed], 3).await;
    // 300 levels: over serde_json's 128-level limit for building a `Value`, which a claim
    // that decoded payloads would hit for the whole batch. Enqueued as raw SQL, the way a
    // service in another language could; the job's own type ignores the field.
    let deep = format!(
        r#"{{"key":"deep","steps":[],"x":{}1{}}}"#,
        "[".repeat(300),
        "]".repeat(300)
    );
    let bad: i64 = sqlx::query_scalar("INSERT INTO herald.jobs (job_type, payload, max_attempts) VALUES ('test.scripted', $1::jsonb, 3) RETURNING id")
        .bind(&deep)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[good, bad], SETTLE).await;
    worker.stop().await;

    assert_eq!(trail(&db.pool, bad).await.len(), 1, "claimed and run once");
    assert_eq!(state(&db.pool, bad).await, "succeeded");
    assert_eq!(state(&db.pool, good).await, "succeeded");

    // The operator can still inspect it: the timeline is shown and the payload, which
    // cannot be redacted structurally, is replaced by a note rather than failing.
    let out =
        crate::cli::in_process(Some(&db.url), &["jobs", "show", &bad.to_string(), "--json"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown: serde_json::Value =
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let payload = shown["job"]["payload"].as_str().unwrap_or_default();
    assert!(payload.starts_with("[payload not shown:"), "{shown}");
    assert_eq!(
        shown["timeline"].as_array().map(Vec::len),
        Some(1),
        "{shown}"
    );
    db.finish().await;
}
