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
    let (stop_producing, stop) = tokio::sync::watch::channel(false);
    let producer = tokio::spawn(produce_through(producer_pool, stop));
    let restart = pg.clone();
    blocking(move || {
        restart.stop().unwrap_or_else(|e| panic!("stop: {e}"));
        // Longer than the worker's 1 s acquire timeout.
        std::thread::sleep(Duration::from_secs(4));
        restart.start().unwrap_or_else(|e| panic!("start: {e}"));
    })
    .await;
    // The producer ran across the whole outage; it stops once it has enqueued again.
    stop_producing
        .send(true)
        .unwrap_or_else(|e| panic!("producer gone: {e}"));
    for n in 0..20 {
        ids.push(enqueue_scripted(&db.pool, &format!("after{n}"), vec![Step::Succeed], 5).await);
    }
    // A liveness bound only (like `eventually`'s): a call that never returns hangs here.
    let produced = tokio::time::timeout(Duration::from_secs(60), producer)
        .await
        .unwrap_or_else(|_| panic!("an enqueue hung: the producer never returned"))
        .unwrap_or_else(|e| panic!("producer: {e}"));
    assert!(
        produced.failed > 0,
        "the producer never saw the outage: the test proves nothing"
    );
    // Every failed call returned with an error that ends it at its limit: the pool's
    // acquire timeout (1 s, configured) or the server's refusal, not a hang.
    assert!(
        produced.unbounded.is_empty(),
        "failed enqueues that ended neither by the acquire timeout nor by the outage itself: {:?}",
        produced.unbounded
    );
    assert!(
        produced.timed_out > 0,
        "no call made while the server was down ended at the pool's acquire timeout: {:?}",
        produced.messages
    );
    assert!(
        produced.recovered,
        "the producer never enqueued again after its last failure"
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
    /// Failures ended by the pool's acquire timeout.
    timed_out: usize,
    /// Failures whose error is neither the pool's acquire timeout nor an outage error.
    unbounded: Vec<String>,
    /// Whether a call succeeded after the last failure.
    recovered: bool,
    messages: Vec<String>,
}

/// Whether a failed enqueue ended by a bound: the pool's acquire timeout (the producer's
/// configured limit) or an error the server's absence returns at once.
fn ended_by_a_bound(e: &herald_jobs::EnqueueError) -> bool {
    let herald_jobs::EnqueueError::Database(e) = e else {
        return false;
    };
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::Io(_))
        || herald_worker::db::server_unavailable(e)
}

/// Enqueues one job every 50 ms through `pool`, the producer's own, whose 1 s acquire
/// timeout is its configured limit, until `stop` is set and a call has succeeded since
/// the last failure.
async fn produce_through(pool: sqlx::PgPool, stop: tokio::sync::watch::Receiver<bool>) -> Produced {
    let mut produced = Produced {
        enqueued: Vec::new(),
        failed: 0,
        timed_out: 0,
        unbounded: Vec::new(),
        recovered: false,
        messages: Vec::new(),
    };
    let mut n = 0;
    while !(*stop.borrow() && produced.recovered) {
        let job = herald_jobs::NewJob::new(&herald_tests::jobs::ScriptedJob::new(
            format!("during{n}"),
            vec![Step::Succeed],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        match herald_jobs::enqueue(&pool, job).await {
            Ok(done) => {
                produced.enqueued.push(done.id);
                produced.recovered = true;
            }
            Err(e) => {
                produced.failed += 1;
                produced.recovered = false;
                if matches!(
                    e,
                    herald_jobs::EnqueueError::Database(sqlx::Error::PoolTimedOut)
                ) {
                    produced.timed_out += 1;
                }
                if !ended_by_a_bound(&e) {
                    produced.unbounded.push(format!("{e:?}"));
                }
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
