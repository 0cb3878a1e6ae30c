//! `GET /api/v1/actions` (the audit log) and the jobs filter's `text` (id or key).

use reqwest::Method;
use serde_json::json;

use super::{Console, assert_error, send};

#[tokio::test]
async fn the_actions_log_lists_console_actions_newest_first_with_actor_reason_and_count() {
    let console = Console::start().await;
    sqlx::raw_sql(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at)
         SELECT 't', 'logq', '{}', 'cancelled', 0, 1, now() FROM generate_series(1, 3)",
    )
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let password = console.add_user("olga", "operator").await;
    let login = console.login("olga", &password).await;
    let (status, body) = send(
        console
            .with_session(Method::POST, "/api/v1/jobs/actions", &login)
            .header("x-csrf-token", &login.csrf)
            .json(&json!({"action": "replay", "filter": {"queue": "logq", "state": ["cancelled"]}, "reason": "<b>upstream</b> fixed"})),
    )
    .await;
    assert_eq!((status, body["count"].as_i64()), (200, Some(3)), "{body}");
    let (status, log) =
        send(console.with_session(Method::GET, "/api/v1/actions?action=replay", &login)).await;
    assert_eq!(status, 200, "{log}");
    let entry = &log["actions"][0];
    assert_eq!(entry["actor"], "olga", "{log}");
    assert_eq!(
        entry["reason"], "<b>upstream</b> fixed",
        "stored and answered as text: {log}"
    );
    assert_eq!(entry["job_count"], 3, "{log}");
    assert_eq!(entry["filter"]["queue"], "logq", "{log}");
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/actions?action=drop%20table", &login))
            .await;
    assert_eq!(status, 400);
    assert_error(&body, "VALIDATION_ERROR");
    console.finish().await;
}

#[tokio::test]
async fn the_text_filter_finds_a_job_by_id_or_key_and_sql_looking_text_is_only_data() {
    let console = Console::start().await;
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, idempotency_key)
         VALUES ('t', 'q', '{}', 'order-1234-confirm'), ('t', 'q', '{}', 'order-99%'), ('t', 'q', '{}', NULL)
         RETURNING id",
    )
    .fetch_all(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let password = console.add_user("vera", "viewer").await;
    let login = console.login("vera", &password).await;
    let found = |text: &str| {
        let request = console
            .with_session(Method::GET, "/api/v1/jobs", &login)
            .query(&[("text", text)]);
        async move {
            let (status, body) = send(request).await;
            assert_eq!(status, 200, "{body}");
            body["jobs"]
                .as_array()
                .map(|jobs| {
                    jobs.iter()
                        .filter_map(|j| j["id"].as_i64())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        }
    };
    assert_eq!(found("1234").await, vec![ids[0]]);
    // The id matches exactly (a key holding the same digits matches too: it is text).
    let by_id = found(&ids[2].to_string()).await;
    assert!(
        by_id.contains(&ids[2]) && !by_id.contains(&ids[1]),
        "{by_id:?}"
    );
    assert_eq!(
        found("99%").await,
        vec![ids[1]],
        "% is a character, not a wildcard"
    );
    assert_eq!(found("%").await, vec![ids[1]]);
    assert!(found("' OR '1'='1").await.is_empty());
    assert!(found("x'; DROP TABLE herald.jobs; --").await.is_empty());
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.jobs")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, 3);
    console.finish().await;
}
