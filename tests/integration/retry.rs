//! Classification and durable retry.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::{Step, fail};
use herald_tests::wait::{settled, state, trail};
use herald_tests::workers::InProcessWorker;

use crate::{effects, enqueue_scripted};

const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn retryable_failure_is_retried_after_its_stored_backoff() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "r",
        vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
        3,
    )
    .await;
    let worker = InProcessWorker::start(
        &db,
        "w1",
        &[("HERALD_RETRY_BASE", "1500ms"), ("HERALD_RETRY_MAX", "1m")],
    )
    .await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let (first, second) = (&rows[0], &rows[1]);
    assert_eq!(
        (first.outcome.as_str(), first.job_state.as_str()),
        ("retrying", "retrying")
    );
    assert_eq!(first.error_code.as_deref(), Some("UPSTREAM_UNAVAILABLE"));
    assert_eq!(first.error_class.as_deref(), Some("retryable"));
    let next = first
        .next_run_at
        .unwrap_or_else(|| panic!("retry has no next run time"));
    let backoff = (next - first.finished_at).num_milliseconds();
    assert!(
        (1400..=1600).contains(&backoff),
        "stored backoff {backoff} ms"
    );
    assert!(
        second.started_at >= next,
        "attempt 2 started {} before its run_at {next}",
        second.started_at
    );
    assert_eq!(second.outcome, "succeeded");
    assert_eq!(state(&db.pool, id).await, "succeeded");
    db.finish().await;
}

#[tokio::test]
async fn rate_limited_attempt_waits_for_retry_after() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "r",
        vec![Step::RateLimited { secs: 2 }, Step::Succeed],
        3,
    )
    .await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(
        rows.iter().map(|r| r.outcome.as_str()).collect::<Vec<_>>(),
        ["retrying", "succeeded"]
    );
    assert_eq!(rows[0].error_code.as_deref(), Some("RATE_LIMITED"));
    let waited = (rows[1].started_at - rows[0].finished_at).num_milliseconds();
    assert!(
        waited >= 2000,
        "attempt 2 came {waited} ms after a Retry-After of 2 s"
    );
    db.finish().await;
}

#[tokio::test]
async fn terminal_error_is_dead_after_one_attempt() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "t",
        vec![fail("VALIDATION_ERROR"), Step::Succeed],
        5,
    )
    .await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].job_state.as_str()),
        ("dead", "dead")
    );
    assert_eq!(rows[0].error_class.as_deref(), Some("terminal"));
    assert_eq!(rows[0].next_run_at, None);
    assert_eq!(effects(&db.pool, id, "start").await, 1);
    db.finish().await;
}

#[tokio::test]
async fn exhausted_retries_end_dead() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(&db.pool, "x", vec![fail("TIMEOUT")], 3).await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    let outcomes: Vec<&str> = rows.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["retrying", "retrying", "dead"]);
    assert!(
        rows.iter()
            .all(|r| r.error_class.as_deref() == Some("retryable"))
    );
    assert_eq!(state(&db.pool, id).await, "dead");
    assert_eq!(effects(&db.pool, id, "start").await, 3);
    db.finish().await;
}

#[tokio::test]
async fn retries_survive_a_worker_restart() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "s",
        vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
        3,
    )
    .await;
    let first = InProcessWorker::start(&db, "w1", &[("HERALD_RETRY_BASE", "2s")]).await;
    herald_tests::wait::eventually("the first failure", Duration::from_secs(20), || async {
        (state(&db.pool, id).await == "retrying").then_some(())
    })
    .await;
    first.stop().await;
    let second = InProcessWorker::start(&db, "w2", &[]).await;
    settled(&db.pool, &[id], SETTLE).await;
    second.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(
        rows.iter()
            .map(|r| r.worker_id.as_str())
            .collect::<Vec<_>>(),
        ["w1", "w2"]
    );
    assert_eq!(rows[1].outcome, "succeeded");
    db.finish().await;
}
