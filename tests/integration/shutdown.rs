//! Graceful shutdown: in-flight attempts finish within the grace period or are put back;
//! nothing new is claimed after the signal.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::{eventually, settled, state, trail};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;

use crate::process::WorkerProcess;
use crate::{effects, enqueue_scripted};

#[tokio::test]
async fn sigterm_lets_the_running_attempt_finish_and_claims_nothing_new() {
    let db = TestDb::new().await;
    let running = enqueue_scripted(&db.pool, "running", vec![Step::Sleep { ms: 1_500 }], 3).await;
    let mut env = test_env(&db.url, "draining");
    env.insert("HERALD_SHUTDOWN_GRACE".into(), "10s".into());
    let mut worker = WorkerProcess::spawn(&env);
    eventually("the attempt to start", Duration::from_secs(20), || async {
        (effects(&db.pool, running, "start").await == 1).then_some(())
    })
    .await;
    worker.signal(Signal::SIGTERM);
    let later = enqueue_scripted(&db.pool, "later", vec![Step::Succeed], 3).await;
    let status = worker.wait(Duration::from_secs(20));

    assert!(status.success(), "exit status {status:?}");
    assert_eq!(state(&db.pool, running).await, "succeeded");
    assert_eq!(
        state(&db.pool, later).await,
        "pending",
        "nothing is claimed after the signal"
    );
    let attempts: i32 = sqlx::query_scalar("SELECT attempt FROM herald.jobs WHERE id = $1")
        .bind(later)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        attempts, 0,
        "no attempt is charged to a job that never started"
    );
    db.finish().await;
}

#[tokio::test]
async fn an_attempt_outliving_the_grace_period_is_interrupted_and_put_back() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "long",
        vec![Step::Sleep { ms: 2_800 }, Step::Succeed],
        3,
    )
    .await;
    let mut env = test_env(&db.url, "impatient");
    env.insert("HERALD_SHUTDOWN_GRACE".into(), "300ms".into());
    let mut worker = WorkerProcess::spawn(&env);
    eventually("the attempt to start", Duration::from_secs(20), || async {
        (effects(&db.pool, id, "start").await == 1).then_some(())
    })
    .await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].job_state.as_str()),
        ("interrupted", "pending")
    );
    assert_eq!(rows[0].error_code, None, "an interruption is not a failure");
    assert_eq!(effects(&db.pool, id, "done").await, 0);

    let mut next = WorkerProcess::spawn(&test_env(&db.url, "next"));
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    next.signal(Signal::SIGTERM);
    assert!(next.wait(Duration::from_secs(20)).success());
    assert_eq!(state(&db.pool, id).await, "succeeded");
    db.finish().await;
}
