//! The resources: queues, and the OpenAPI document naming every route.

use reqwest::Method;

use super::{Console, send};
use herald::console::router::ROUTES;

#[tokio::test]
async fn queues_answer_depth_by_state_for_a_viewer() {
    let console = Console::start().await;
    sqlx::raw_sql(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at, last_error_code)
         VALUES ('test.scripted', 'mail', '{}', 'dead', 1, 1, now(), 'TIMEOUT');
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message)
         SELECT id, job_type, queue, 1, 'seed', now(), now(), 1, 'dead', 'dead', 'TIMEOUT', 'terminal', 'x' FROM herald.jobs;
         INSERT INTO herald.jobs (job_type, queue, payload) VALUES ('test.scripted', 'mail', '{}'), ('test.scripted', 'mail', '{}')",
    )
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let password = console.add_user("ivan", "viewer").await;
    let login = console.login("ivan", &password).await;
    let (status, body) = send(console.with_session(Method::GET, "/api/v1/queues", &login)).await;
    assert_eq!(status, 200, "{body}");
    let mail = body["queues"]
        .as_array()
        .and_then(|q| q.iter().find(|q| q["queue"] == "mail"))
        .cloned()
        .unwrap_or_else(|| panic!("{body}"));
    assert_eq!(
        (mail["pending"].as_i64(), mail["dead"].as_i64()),
        (Some(2), Some(1)),
        "{mail}"
    );
    console.finish().await;
}

#[tokio::test]
async fn the_openapi_document_is_served_and_names_every_route() {
    let console = Console::start().await;
    let password = console.add_user("judy", "viewer").await;
    let login = console.login("judy", &password).await;
    let (status, doc) =
        send(console.with_session(Method::GET, "/api/v1/openapi.json", &login)).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for route in ROUTES.iter().map(|r| r.1).chain(["/api/v1/login"]) {
        assert!(
            doc["paths"]
                .get(route.trim_start_matches("/api/v1"))
                .is_some(),
            "{route}"
        );
    }
    console.finish().await;
}
