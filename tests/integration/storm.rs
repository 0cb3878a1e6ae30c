//! Faults at scale: a crash storm and a rolling restart over four worker processes.

use std::time::{Duration, Instant};

use herald_jobs::enqueue::{NewJob, enqueue_in};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use sqlx::PgPool;

use crate::process::WorkerProcess;

async fn enqueue_batch(pool: &PgPool, count: usize, sleep_ms: u64) -> Vec<i64> {
    let mut tx = pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let job = NewJob::new(&ScriptedJob::new(
            format!("j{n}"),
            vec![Step::Sleep { ms: sleep_ms }],
        ))
        .unwrap_or_else(|e| panic!("{e}"))
        .max_attempts(20);
        ids.push(
            enqueue_in(&mut tx, job)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .id,
        );
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    ids
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// No job is marked succeeded unless its handler finished that very attempt.
async fn assert_success_means_done(pool: &PgPool) {
    let hollow = scalar(
        pool,
        "SELECT count(*) FROM herald.jobs j WHERE j.state = 'succeeded' AND NOT EXISTS (
            SELECT 1 FROM public.test_effects e WHERE e.job_id = j.id AND e.attempt = j.attempt AND e.event = 'done')",
    )
    .await;
    assert_eq!(
        hollow, 0,
        "jobs marked succeeded whose handler did not finish"
    );
}

#[tokio::test]
async fn a_crash_storm_loses_no_job_and_audits_every_lost_attempt() {
    let db = TestDb::new().await;
    let ids = enqueue_batch(&db.pool, 1_500, 150).await;
    let env = |i: usize| test_env(&db.url, &format!("storm-{i}"));
    let mut workers: Vec<WorkerProcess> = (0..4).map(|i| WorkerProcess::spawn(&env(i))).collect();

    let storm_until = Instant::now() + Duration::from_secs(12);
    let mut kills = 0;
    while Instant::now() < storm_until {
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        let victim = kills % workers.len();
        workers[victim].kill_hard();
        kills += 1;
        // A new id, so the lost attempts must be found by lease expiry (a restart under
        // the same id rescues its predecessor's jobs at start-up: rescue.rs tests that).
        workers[victim] =
            WorkerProcess::spawn(&test_env(&db.url, &format!("storm-{victim}-{kills}")));
    }
    settle_stop_and_check(&db, &ids, &mut workers).await;
    let abandoned = scalar(
        &db.pool,
        "SELECT count(*) FROM herald.attempts WHERE outcome = 'abandoned'",
    )
    .await;
    assert!(
        abandoned > 0,
        "the storm ({kills} kills) interrupted no attempt: the test proves nothing"
    );
    // Every attempt that started has exactly one audit row, and vice versa.
    let unaudited = scalar(
        &db.pool,
        "SELECT count(*) FROM (SELECT DISTINCT job_id, attempt FROM public.test_effects WHERE event = 'start') e
         WHERE NOT EXISTS (SELECT 1 FROM herald.attempts a WHERE a.job_id = e.job_id AND a.attempt = e.attempt)",
    )
    .await;
    assert_eq!(unaudited, 0, "attempts that ran but left no audit row");
    db.finish().await;
}

#[tokio::test]
async fn a_rolling_restart_finishes_in_flight_work_and_charges_nothing_unstarted() {
    let db = TestDb::new().await;
    let ids = enqueue_batch(&db.pool, 800, 100).await;
    let env = |i: usize| test_env(&db.url, &format!("roll-{i}"));
    let mut workers: Vec<WorkerProcess> = (0..4).map(|i| WorkerProcess::spawn(&env(i))).collect();
    for (i, worker) in workers.iter_mut().enumerate() {
        tokio::time::sleep(Duration::from_millis(700)).await;
        worker.signal(Signal::SIGTERM);
        let status = worker.wait(Duration::from_secs(30));
        assert!(status.success(), "worker {i} exited with {status:?}");
        *worker = WorkerProcess::spawn(&env(i));
    }
    settle_stop_and_check(&db, &ids, &mut workers).await;
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM herald.attempts WHERE outcome <> 'succeeded'"
        )
        .await,
        0,
        "a graceful restart abandons or interrupts nothing (jobs take 100 ms, grace is 2 s)"
    );
    assert_eq!(
        scalar(&db.pool, "SELECT count(*) FROM herald.attempts").await,
        scalar(
            &db.pool,
            "SELECT count(*) FROM public.test_effects WHERE event = 'start'"
        )
        .await,
        "every charged attempt really started: released jobs were not charged"
    );
    db.finish().await;
}

/// Waits for `ids` to settle, stops every worker with SIGTERM (each must exit cleanly),
/// and checks that every job succeeded and that every success did its work.
async fn settle_stop_and_check(db: &TestDb, ids: &[i64], workers: &mut [WorkerProcess]) {
    settled(&db.pool, ids, Duration::from_secs(120)).await;
    for worker in workers.iter_mut() {
        worker.signal(Signal::SIGTERM);
        assert!(worker.wait(Duration::from_secs(30)).success());
    }
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM herald.jobs WHERE state <> 'succeeded'"
        )
        .await,
        0
    );
    assert_success_means_done(&db.pool).await;
}
