//! `GET /api/v1/workflows/{batch_id}` answers the JSON of `herald workflows show ID
//! --json`, byte for byte as a value: the same code builds both.

use reqwest::Method;
use serde_json::{Value, json};

use super::{Console, assert_error, send};
use crate::cli::{in_process, text};

#[tokio::test]
async fn a_workflow_answers_the_same_tree_as_the_cli_and_an_unknown_one_is_not_found() {
    let console = Console::start().await;
    sqlx::query(
        "INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3)
         ON CONFLICT (job_type) DO NOTHING",
    )
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let job =
        |key: &str| json!({"job_type": "test.scripted", "payload": {"key": key, "steps": []}});
    let batch: i64 = sqlx::query_scalar("SELECT herald.enqueue_batch($1, $2, $3, $4, 'api tree')")
        .bind(json!([job("m1"), job("m2")]))
        .bind(job("on-complete"))
        .bind(json!([job("on-success")]))
        .bind(job("on-death"))
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("enqueue_batch: {e}"));
    let password = console.add_user("walt", "viewer").await;
    let login = console.login("walt", &password).await;

    let (status, api) =
        send(console.with_session(Method::GET, &format!("/api/v1/workflows/{batch}"), &login))
            .await;
    assert_eq!(status, 200, "{api}");
    let out = in_process(
        Some(&console.db.url),
        &["workflows", "show", &batch.to_string(), "--json"],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cli: Value = serde_json::from_str(&text(&out.stdout)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(api, cli);
    assert_eq!(api["id"], batch);
    assert_eq!(api["description"], "api tree");
    assert_eq!(api["members"].as_array().map(Vec::len), Some(2), "{api}");
    assert_eq!(api["callbacks"].as_array().map(Vec::len), Some(3), "{api}");

    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/workflows/987654321", &login)).await;
    assert_eq!(status, 404, "{body}");
    assert_error(&body, "NOT_FOUND");
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/workflows/abc", &login)).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    console.finish().await;
}
