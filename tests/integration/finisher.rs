//! The group-commit finisher: acknowledgements follow commits, and a record the
//! database rejects does not hold back the rest of its batch.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::{state, trail};
use herald_worker::audit::{FinishRow, Finisher};
use herald_worker::db::DbHealth;
use tokio::sync::watch;

use crate::enqueue_scripted;

fn row(job_id: i64, job_state: &'static str) -> FinishRow {
    FinishRow {
        job_id,
        attempt: 1,
        worker_id: "w".into(),
        job_state,
        next_run_at: None,
        outcome: "succeeded",
        error_code: None,
        error_class: None,
        message: None,
        error_chain: None,
        started_at: Utc::now(),
        finished_at: Utc::now(),
        trace_id: None,
    }
}

#[tokio::test]
async fn a_rejected_record_does_not_hold_back_the_rest_of_its_batch() {
    let db = TestDb::new().await;
    let good = enqueue_scripted(&db.pool, "good", vec![Step::Succeed], 1).await;
    let bad = enqueue_scripted(&db.pool, "bad", vec![Step::Succeed], 1).await;
    sqlx::query("UPDATE herald.jobs SET state = 'running', attempt = 1, locked_by = 'w', claimed_at = now(), heartbeat_at = now()")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_give_up, give_up_rx) = watch::channel(false);
    let health = Arc::new(DbHealth::new(Duration::from_secs(60)));
    let (finisher, task) = Finisher::spawn(db.pool.clone(), health, give_up_rx);

    // On the test's single-threaded runtime both requests are queued before the
    // finisher runs, so they arrive as one batch.
    let (good_ack, bad_ack) = tokio::join!(
        finisher.finish(row(good, "succeeded")),
        finisher.finish(row(bad, "no-such-state"))
    );
    assert!(matches!(good_ack, Ok(true)), "{good_ack:?}");
    assert!(
        bad_ack.is_err(),
        "a rejected record is reported, not acknowledged"
    );
    assert_eq!(state(&db.pool, good).await, "succeeded");
    assert_eq!(trail(&db.pool, good).await.len(), 1);
    assert_eq!(
        state(&db.pool, bad).await,
        "running",
        "left for rescue to audit"
    );
    assert!(trail(&db.pool, bad).await.is_empty());

    drop(finisher);
    task.await.unwrap_or_else(|e| panic!("{e}"));
    db.finish().await;
}

#[tokio::test]
async fn an_attempt_whose_lease_was_taken_is_not_recorded_twice() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(&db.pool, "taken", vec![Step::Succeed], 1).await;
    sqlx::query("UPDATE herald.jobs SET state = 'running', attempt = 1, locked_by = 'someone-else', claimed_at = now(), heartbeat_at = now()")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_give_up, give_up_rx) = watch::channel(false);
    let (finisher, _task) = Finisher::spawn(
        db.pool.clone(),
        Arc::new(DbHealth::new(Duration::from_secs(60))),
        give_up_rx,
    );
    let ack = finisher.finish(row(id, "succeeded")).await;
    assert!(matches!(ack, Ok(false)), "{ack:?}");
    assert!(trail(&db.pool, id).await.is_empty());
    assert_eq!(state(&db.pool, id).await, "running");
    db.finish().await;
}

#[tokio::test]
async fn a_rejected_record_reports_the_database_error_itself() {
    let db = TestDb::new().await;
    let bad = enqueue_scripted(&db.pool, "bad", vec![Step::Succeed], 1).await;
    sqlx::query("UPDATE herald.jobs SET state = 'running', attempt = 1, locked_by = 'w', claimed_at = now(), heartbeat_at = now()")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (_give_up, give_up_rx) = watch::channel(false);
    let health = Arc::new(DbHealth::new(Duration::from_secs(60)));
    let (finisher, task) = Finisher::spawn(db.pool.clone(), health, give_up_rx);

    let ack = finisher.finish(row(bad, "no-such-state")).await;
    let code = ack
        .as_ref()
        .err()
        .and_then(|e| e.database_error())
        .and_then(|e| e.as_database_error())
        .and_then(|e| e.code());
    assert!(
        code.is_some(),
        "the SQLSTATE is kept, not stringified: {ack:?}"
    );

    drop(finisher);
    task.await.unwrap_or_else(|e| panic!("{e}"));
    db.finish().await;
}
