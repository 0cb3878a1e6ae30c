//! A worker keeps going across a PostgreSQL restart and logs the outage once.

use std::time::Duration;

use herald_testkit::private_pg::{PrivatePostgres, default_home};
use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
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
    let mut env = test_env(&db.url, "survivor");
    env.insert("HERALD_DB_OUTAGE_CRITICAL_AFTER".into(), "2s".into());
    let mut worker = WorkerProcess::spawn(&env);
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(
            enqueue_scripted(
                &db.pool,
                &format!("before{n}"),
                vec![Step::Sleep { ms: 1_000 }],
                5,
            )
            .await,
        );
    }

    // The outage starts while the worker is busy, not while it is still starting up (a
    // worker that cannot reach the database at start-up exits at once, by design).
    worker.wait_started(Duration::from_secs(60));
    eventually("the worker to be busy", Duration::from_secs(30), || async {
        let done: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.attempts")
            .fetch_one(&db.pool)
            .await
            .ok()?;
        (done > 0).then_some(())
    })
    .await;
    // The producer connects before the outage starts (a connect racing the shutdown
    // would fail the test, not the code under test).
    let producer_pool = herald_worker::db::connect(&db.url, 2, Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let producer = tokio::spawn(produce_through(producer_pool, Duration::from_secs(7)));
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
    let produced = producer.await.unwrap_or_else(|e| panic!("producer: {e}"));
    assert!(
        produced.failed > 0,
        "the producer never saw the outage: the test proves nothing"
    );
    assert!(
        produced.slowest_failure < Duration::from_secs(5),
        "a failed enqueue took {:?}: the producer must get its error within its timeout, not hang",
        produced.slowest_failure
    );
    assert!(
        produced
            .messages
            .iter()
            .all(|m| m.starts_with("database error while enqueueing")),
        "{:?}",
        produced.messages
    );
    ids.extend(&produced.enqueued);
    settled(&db.pool, &ids, Duration::from_secs(60)).await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());

    let succeeded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'")
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        succeeded as usize,
        ids.len(),
        "every job a producer was told was enqueued ran"
    );
    let events = worker.events();
    let count = |message: &str| events.iter().filter(|e| e["message"] == message).count();
    let health_events: Vec<_> = events
        .iter()
        .filter(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("database"))
        })
        .collect();
    assert_eq!(
        count("database unreachable; work pauses and resumes by itself when it returns"),
        1,
        "the outage is logged once at ERROR: {health_events:?}"
    );
    assert!(count("database reachable again; work resumes") >= 1);
    let critical = events
        .iter()
        .filter(|e| {
            e["target"] == "herald::alert"
                && e["severity"] == "CRITICAL"
                && e["alert"] == "database_unreachable"
        })
        .count();
    assert_eq!(
        critical, 1,
        "an outage longer than HERALD_DB_OUTAGE_CRITICAL_AFTER raises one CRITICAL event"
    );
    db.finish().await;
}

/// What a producer saw while enqueueing through an outage.
struct Produced {
    enqueued: Vec<i64>,
    failed: usize,
    slowest_failure: Duration,
    messages: Vec<String>,
}

/// Enqueues one job every 50 ms for `how_long` through `pool`, the producer's own,
/// whose 1 s acquire timeout is its configured limit.
async fn produce_through(pool: sqlx::PgPool, how_long: Duration) -> Produced {
    let mut produced = Produced {
        enqueued: Vec::new(),
        failed: 0,
        slowest_failure: Duration::ZERO,
        messages: Vec::new(),
    };
    let until = std::time::Instant::now() + how_long;
    let mut n = 0;
    while std::time::Instant::now() < until {
        let job = herald_jobs::NewJob::new(&herald_tests::jobs::ScriptedJob::new(
            format!("during{n}"),
            vec![Step::Succeed],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let started = std::time::Instant::now();
        match herald_jobs::enqueue(&pool, job).await {
            Ok(done) => produced.enqueued.push(done.id),
            Err(e) => {
                produced.failed += 1;
                produced.slowest_failure = produced.slowest_failure.max(started.elapsed());
                produced.messages.push(e.to_string());
            }
        }
        n += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    pool.close().await;
    produced
}

/// An administrator terminating the connection (what a restart does to every
/// connection) is an outage to wait out, not a refusal of the statement; a constraint
/// violation is a refusal.
#[tokio::test]
async fn a_terminated_connection_is_an_outage_and_a_constraint_violation_is_not() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let terminated = sqlx::query("SELECT pg_terminate_backend(pg_backend_pid())")
        .execute(&mut *conn)
        .await
        .err()
        .unwrap_or_else(|| panic!("terminating its own backend must fail the statement"));
    drop(conn);
    assert!(
        herald_worker::db::server_unavailable(&terminated),
        "{terminated:?}"
    );
    let refused = sqlx::query("INSERT INTO herald.jobs (id) VALUES (NULL)")
        .execute(&db.pool)
        .await
        .err()
        .unwrap_or_else(|| panic!("a NULL id must be refused"));
    assert!(
        !herald_worker::db::server_unavailable(&refused),
        "{refused:?}"
    );
    db.finish().await;
}
