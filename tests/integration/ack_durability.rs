//! An attempt is acknowledged (its concurrency slot freed) only after the statement that
//! records it has committed.
//!
//! With concurrency 1 the next job can start only once the previous attempt's slot is
//! free, i.e. once its ack resolved. So when a worker is killed in the middle of a
//! stream of jobs, every job that has a successor which started must already be audited:
//! an ack that resolved before its commit would leave such a job `running` with no audit
//! row (the finished-but-unwritten attempts are lost with the process).

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::eventually;
use herald_tests::workers::test_env;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

async fn started_in_order(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT job_id FROM public.test_effects WHERE event = 'start' ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("effects: {e}"))
}

#[tokio::test]
async fn every_attempt_acked_before_a_kill_is_already_audited() {
    let db = TestDb::new().await;
    let mut ids = Vec::new();
    for n in 0..150 {
        ids.push(enqueue_scripted(&db.pool, &format!("a{n}"), vec![Step::Succeed], 3).await);
    }
    let mut env = test_env(&db.url, "acker");
    env.insert("HERALD_QUEUES".into(), "default=1".into());
    let mut worker = WorkerProcess::spawn(&env);
    eventually("40 jobs to start", Duration::from_secs(30), || async {
        (started_in_order(&db).await.len() >= 40).then_some(())
    })
    .await;
    worker.kill_hard();

    let started = started_in_order(&db).await;
    let (last, acked) = started
        .split_last()
        .unwrap_or_else(|| panic!("nothing started"));
    let unaudited: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM unnest($1::bigint[]) AS id
         WHERE NOT EXISTS (SELECT 1 FROM herald.attempts a WHERE a.job_id = id AND a.attempt = 1)",
    )
    .bind(acked)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("audit lookup: {e}"));
    assert!(
        unaudited.is_empty(),
        "jobs whose successor started (so their ack had resolved) but with no audit row: {unaudited:?} (last started: {last})"
    );
    assert!(acked.len() >= 39, "the kill came after at least 39 acks");
    db.finish().await;
}
