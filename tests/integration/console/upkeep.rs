//! The console's tables keep themselves small: expired sessions are deleted
//! periodically by the console process, not only at a login (live ones stay); old
//! authentication-audit rows are pruned by the workers' maintenance leader.

use std::time::Duration;

use herald_tests::wait::eventually;
use reqwest::Method;
use tokio::sync::oneshot;

use super::{Console, send};

async fn sessions(console: &Console) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM herald.console_sessions")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn expired_sessions_are_swept_periodically_and_live_ones_stay() {
    let console = Console::start().await;
    let password = console.add_user("sam", "viewer").await;
    let old = console.login("sam", &password).await;
    // Expire the first session, then log in again: the login's own sweep goes first, so
    // the expired row is still there after it.
    let live = console.login("sam", &password).await;
    sqlx::query(
        "UPDATE herald.console_sessions SET expires_at = now() - interval '1 hour'
         WHERE created_at = (SELECT min(created_at) FROM herald.console_sessions)",
    )
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(sessions(&console).await, 2);

    let (stop, stopped) = oneshot::channel::<()>();
    let sweeper = tokio::spawn(herald::console::upkeep::run(
        console.db.pool.clone(),
        Duration::from_millis(100),
        async move {
            let _ = stopped.await;
        },
    ));
    eventually(
        "the expired session to be swept",
        Duration::from_secs(30),
        || async { (sessions(&console).await == 1).then_some(()) },
    )
    .await;
    let (status, _) = send(console.with_session(Method::GET, "/api/v1/session", &live)).await;
    assert_eq!(status, 200, "the live session stays");
    let (status, _) = send(console.with_session(Method::GET, "/api/v1/session", &old)).await;
    assert_eq!(status, 401);
    let _ = stop.send(());
    sweeper.await.unwrap_or_else(|e| panic!("{e}"));
    console.finish().await;
}

#[tokio::test]
async fn the_maintenance_leader_prunes_old_console_events_and_records_how_many() {
    let db = herald_tests::db::TestDb::new().await;
    let p = &db.pool;
    sqlx::raw_sql(
        "INSERT INTO herald.console_events (at, actor, event, source_addr, attempted) VALUES
           (now() - interval '100 days', 'old', 'login', '127.0.0.1', 'POST /api/v1/login'),
           (now() - interval '95 days', 'old', 'login_failed', '127.0.0.1', 'POST /api/v1/login'),
           (now() - interval '10 days', 'recent', 'logout', '127.0.0.1', 'POST /api/v1/logout')",
    )
    .execute(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let worker = herald_tests::workers::InProcessWorker::start(
        &db,
        "console-events-pruner",
        &[
            ("HERALD_RETENTION_CONSOLE_EVENTS", "90d"),
            ("HERALD_MAINTENANCE_BATCH", "1"),
        ],
    )
    .await;
    let (removed, age): (i64, Option<f64>) = eventually(
        "a completed maintenance run",
        Duration::from_secs(30),
        || async {
            sqlx::query_as(
                "SELECT console_events_removed, (policy ->> 'console_events')::float8
                 FROM herald.maintenance_runs
                 WHERE outcome = 'completed' AND worker_id = 'console-events-pruner'
                 ORDER BY id LIMIT 1",
            )
            .fetch_optional(p)
            .await
            .ok()
            .flatten()
        },
    )
    .await;
    worker.stop().await;
    let actors: Vec<String> = sqlx::query_scalar("SELECT actor FROM herald.console_events")
        .fetch_all(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actors, ["recent"], "only the events older than 90 days go");
    assert_eq!(removed, 2, "the run records them (batches of 1)");
    assert_eq!(
        age,
        Some(90.0 * 86_400.0),
        "the run records the policy in force"
    );
    db.finish().await;
}
