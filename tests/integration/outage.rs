//! A worker keeps going across a PostgreSQL restart and logs the outage once.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use herald_worker::private_pg::{PrivatePostgres, default_home};
use nix::sys::signal::Signal;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

/// Port of the instance this test restarts (its own, so other tests are unaffected).
const OUTAGE_PORT: u16 = 54331;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| panic!("blocking task: {e}"))
}

#[tokio::test]
async fn a_worker_keeps_going_across_a_postgres_restart() {
    let pg = blocking(|| {
        let pg = PrivatePostgres::new(default_home().join("test-outage"), OUTAGE_PORT)
            .unwrap_or_else(|e| panic!("{e}"));
        pg.ensure_running().unwrap_or_else(|e| panic!("{e}"));
        pg
    })
    .await;
    let db = TestDb::on_server(&pg.url("postgres")).await;
    let mut worker = WorkerProcess::spawn(&test_env(&db.url, "survivor"));
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            enqueue_scripted(
                &db.pool,
                &format!("before{n}"),
                vec![Step::Sleep { ms: 200 }],
                5,
            )
            .await,
        );
    }

    let restart = pg.clone();
    blocking(move || {
        restart.stop().unwrap_or_else(|e| panic!("stop: {e}"));
        // Longer than the worker's 1 s acquire timeout.
        std::thread::sleep(Duration::from_secs(4));
        restart.start().unwrap_or_else(|e| panic!("start: {e}"));
    })
    .await;
    for n in 0..20 {
        ids.push(enqueue_scripted(&db.pool, &format!("after{n}"), vec![Step::Succeed], 5).await);
    }
    settled(&db.pool, &ids, Duration::from_secs(60)).await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());

    let succeeded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'")
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(succeeded, 40);
    let events = worker.events();
    let count = |message: &str| events.iter().filter(|e| e["message"] == message).count();
    assert_eq!(
        count("database unreachable; work pauses and resumes by itself when it returns"),
        1,
        "the outage is logged once at ERROR"
    );
    assert!(count("database reachable again; work resumes") >= 1);
    db.finish().await;
}
