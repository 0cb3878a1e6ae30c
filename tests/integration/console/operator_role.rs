//! The console runs as a role given only `herald.grant_operator()`: logins, sessions,
//! the authentication audit, every read and a job action work; the audit stays
//! append-only and users cannot be added through that role.

use std::time::Duration;

use herald_tests::db::TestDb;
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

use super::{Console, send};
use crate::privilege::{as_role, create_role, drop_role};

#[tokio::test]
async fn the_console_serves_everything_as_an_operator_role() {
    let db = TestDb::new().await;
    let role = format!("herald_console_{:08x}", rand::random::<u32>());
    create_role(&role).await;
    sqlx::query("SELECT herald.grant_operator($1)")
        .bind(&role)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dead: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at)
         VALUES ('test.scripted', 'q', '{}', 'dead', 0, 1, now()) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let operator = PgPool::connect(&as_role(&db.url, &role))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let console = Console::serve_on(
        db,
        operator.clone(),
        Duration::from_secs(30),
        Duration::from_secs(10),
    )
    .await;
    let password = console.add_user("rita", "operator").await;
    let (status, body) = console.try_login(&console.base, "rita", "wrong").await;
    assert_eq!(status, 401, "{body}");
    let login = console.login("rita", &password).await;
    for path in [
        "/api/v1/session",
        "/api/v1/overview",
        "/api/v1/failures",
        "/api/v1/jobs?state=dead",
        &format!("/api/v1/jobs/{dead}"),
        "/api/v1/queues",
    ] {
        let (status, body) = send(console.with_session(Method::GET, path, &login)).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (status, body) = send(
        console
            .with_session(
                Method::POST,
                &format!("/api/v1/jobs/{dead}/actions"),
                &login,
            )
            .header("x-csrf-token", &login.csrf)
            .json(&json!({"action": "replay", "reason": "as the operator role"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(
        console
            .with_session(Method::POST, "/api/v1/logout", &login)
            .header("x-csrf-token", &login.csrf),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let events: Vec<String> = console
        .events()
        .await
        .into_iter()
        .map(|(_, event, _, _)| event)
        .collect();
    assert_eq!(events, ["login_failed", "login", "logout"]);
    for sql in [
        "UPDATE herald.console_events SET actor = 'x'",
        "DELETE FROM herald.console_events",
        "INSERT INTO herald.console_users (username, password_hash, role) VALUES ('x', '$argon2id$x', 'operator')",
        "UPDATE herald.console_users SET role = 'operator'",
    ] {
        let refused = match sqlx::raw_sql(sql).execute(&operator).await {
            Err(sqlx::Error::Database(e)) => e.code().is_some_and(|c| c == "42501"),
            _ => false,
        };
        assert!(refused, "the operator role may not: {sql}");
    }
    operator.close().await;
    console.finish().await;
    drop_role(&role).await;
}
