//! Least privilege: a producer role can only call `herald.enqueue()`; an operator role
//! can run the operator CLI but change no schema.

use herald_tests::db::{TestDb, server_url, with_database};
use sqlx::PgPool;

use crate::cli::in_process;

const PASSWORD: &str = "herald-test-role-pw";

/// `url` with its credentials replaced by `role` and the test password.
pub(crate) fn as_role(url: &str, role: &str) -> String {
    let (scheme, rest) = url
        .split_once("://")
        .unwrap_or_else(|| panic!("not a URL: {url}"));
    let host_and_path = rest.rsplit_once('@').map_or(rest, |(_, after)| after);
    format!("{scheme}://{role}:{PASSWORD}@{host_and_path}")
}

/// Creates login role `role` on the test server.
pub(crate) async fn create_role(role: &str) {
    let admin = PgPool::connect(&server_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE ROLE {role} LOGIN PASSWORD '{PASSWORD}'"
    )))
    .execute(&admin)
    .await
    .unwrap_or_else(|e| panic!("create role: {e}"));
    admin.close().await;
}

/// Drops `role` (after its database is gone).
pub(crate) async fn drop_role(role: &str) {
    let admin = PgPool::connect(&server_url())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP ROLE IF EXISTS {role}")))
        .execute(&admin)
        .await;
    admin.close().await;
}

/// The SQLSTATE of running `sql` as `pool`'s role, or `None` if it succeeded.
async fn sqlstate(pool: &PgPool, sql: &'static str) -> Option<String> {
    match sqlx::raw_sql(sql).execute(pool).await {
        Ok(_) => None,
        Err(sqlx::Error::Database(e)) => e.code().map(|c| c.into_owned()),
        Err(e) => panic!("{sql}: {e}"),
    }
}

#[tokio::test]
async fn a_producer_role_can_only_enqueue() {
    let db = TestDb::new().await;
    let role = format!("herald_producer_{:08x}", rand::random::<u32>());
    create_role(&role).await;
    sqlx::query("INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3)")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT herald.grant_producer($1)")
        .bind(&role)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let producer = PgPool::connect(&as_role(&db.url, &role))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id: String =
        sqlx::query_scalar(r#"SELECT herald.enqueue('test.scripted', '{"key":"k","steps":[]}')"#)
            .fetch_one(&producer)
            .await
            .unwrap_or_else(|e| panic!("the producer cannot enqueue: {e}"));
    assert!(id.parse::<i64>().is_ok(), "{id}");
    for sql in [
        "SELECT * FROM herald.jobs",
        "SELECT * FROM herald.attempts",
        "INSERT INTO herald.jobs (job_type, payload) VALUES ('x', '{}')",
        "UPDATE herald.jobs SET state = 'dead'",
        "DELETE FROM herald.attempts",
        "INSERT INTO herald.queue_pauses (queue, paused_by, reason) VALUES ('default', 'p', 'r')",
        "DELETE FROM herald.queue_pauses",
        "SELECT herald.grant_operator(current_user)",
        "CREATE TABLE herald.evil (id int)",
    ] {
        assert_eq!(
            sqlstate(&producer, sql).await.as_deref(),
            Some("42501"),
            "a producer may not: {sql}"
        );
    }
    producer.close().await;
    db.finish().await;
    drop_role(&role).await;
}

#[tokio::test]
async fn an_operator_role_runs_the_operator_cli_but_changes_no_schema() {
    let db = TestDb::new().await;
    let role = format!("herald_operator_{:08x}", rand::random::<u32>());
    create_role(&role).await;
    sqlx::query("SELECT herald.grant_operator($1)")
        .bind(&role)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let dead =
        crate::enqueue_scripted(&db.pool, "dead", vec![herald_tests::jobs::Step::Succeed], 1).await;
    sqlx::query(
        "UPDATE herald.jobs SET state = 'dead', attempt = 0, finished_at = now() WHERE id = $1",
    )
    .bind(dead)
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let url = as_role(&db.url, &role);
    let list = in_process(Some(&url), &["jobs", "list", "--state", "dead", "--json"]).await;
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    let replay = in_process(
        Some(&url),
        &[
            "replay",
            &dead.to_string(),
            "--reason",
            "test",
            "--actor",
            "oncall",
        ],
    )
    .await;
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    assert_eq!(herald_tests::wait::state(&db.pool, dead).await, "pending");
    // An operator pauses and resumes queues, and lists them, ...
    // ... cancels (the statement also writes workflow records and cancel requests), and
    // sets and removes a fleet-wide limit.
    let id = dead.to_string();
    for args in [
        &["queues", "pause", "default", "--reason", "test"][..],
        &["queues", "--json"],
        &["queues", "resume", "default"],
        &["cancel", &id, "--reason", "test"],
        &[
            "limits",
            "set",
            "hooks.example.com",
            "--rate",
            "5",
            "--reason",
            "test",
        ],
        &["limits", "remove", "hooks.example.com", "--reason", "test"],
    ] {
        let out = in_process(Some(&url), args).await;
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(herald_tests::wait::state(&db.pool, dead).await, "cancelled");

    let operator = PgPool::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for sql in [
        "DROP TABLE herald.attempts",
        "ALTER TABLE herald.jobs ADD COLUMN x int",
        "TRUNCATE herald.operator_actions",
    ] {
        assert_eq!(
            sqlstate(&operator, sql).await.as_deref(),
            Some("42501"),
            "an operator may not: {sql}"
        );
    }
    operator.close().await;
    // The replayed job is pending again; the audit invariant holds for the others.
    db.finish().await;
    drop_role(&role).await;
}

#[test]
fn role_urls_keep_host_and_database() {
    assert_eq!(
        as_role("postgres://postgres@127.0.0.1:54330/db", "r"),
        format!("postgres://r:{PASSWORD}@127.0.0.1:54330/db")
    );
    assert_eq!(
        as_role("postgres://127.0.0.1/db", "r"),
        format!("postgres://r:{PASSWORD}@127.0.0.1/db")
    );
    assert_eq!(with_database("postgres://r@h/x", "y"), "postgres://r@h/y");
}
