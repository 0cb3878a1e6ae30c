//! Expired sessions are deleted periodically by the console process, not only at a
//! login; live ones stay.

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
