//! The resources: queues, and the OpenAPI document naming every route.

use reqwest::Method;

use super::{Console, assert_error, send};
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
        let path = route
            .trim_start_matches("/api/v1")
            .replace("/jobs/1", "/jobs/{id}")
            .replace("/workflows/1", "/workflows/{batch_id}");
        assert!(doc["paths"].get(&path).is_some(), "{route}");
    }
    console.finish().await;
}

/// Inserts a dead job in `queue` with `payload` and one failed attempt (`message`,
/// trace id `trace`); returns its id.
async fn seed_failed(
    console: &Console,
    queue: &str,
    payload: &str,
    message: &str,
    trace: &str,
) -> i64 {
    sqlx::query_scalar(
        "WITH j AS (
             INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at, last_error_code)
             VALUES ('test.scripted', $1, $2::jsonb, 'dead', 1, 1, now(), 'UPSTREAM_UNAVAILABLE')
             RETURNING id, job_type, queue, finished_at)
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message, trace_id)
         SELECT id, job_type, queue, 1, 'seed', finished_at, finished_at, 1, 'dead', 'dead', 'UPSTREAM_UNAVAILABLE', 'retryable', $3, $4
         FROM j RETURNING job_id",
    )
    .bind(queue)
    .bind(payload)
    .bind(message)
    .bind(trace)
    .fetch_one(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"))
}

#[tokio::test]
async fn failures_group_by_fingerprint_and_jobs_page_by_keyset() {
    let console = Console::start().await;
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(
            seed_failed(
                &console,
                "mail",
                "{}",
                &format!("smtp down for job {n}"),
                "",
            )
            .await,
        );
    }
    seed_failed(&console, "sms", "{}", "gateway gone", "").await;
    let password = console.add_user("kim", "viewer").await;
    let login = console.login("kim", &password).await;
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/failures?since=1h", &login)).await;
    assert_eq!(status, 200, "{body}");
    let groups = body["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 2, "{body}");
    assert_eq!(
        (groups[0]["attempts"].as_i64(), groups[0]["jobs"].as_i64()),
        (Some(5), Some(5))
    );
    assert_eq!(groups[0]["message"], "smtp down for job <n>");
    let fingerprint = groups[0]["fingerprint"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // Pages of 2 through the group's jobs, newest first, by the keyset cursor.
    let mut seen = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let cursor = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let path = format!("/api/v1/jobs?state=dead&fingerprint={fingerprint}&limit=2{cursor}");
        let (status, page) = send(console.with_session(Method::GET, &path, &login)).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["jobs"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|j| j["id"].as_i64()),
        );
        match page["next_after"].as_i64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    for bad in [
        "/api/v1/jobs?limit=0",
        "/api/v1/jobs?state=exploded",
        "/api/v1/jobs?since=soon",
        "/api/v1/jobs?nope=1",
        "/api/v1/failures?since=x",
    ] {
        let (status, body) = send(console.with_session(Method::GET, bad, &login)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_error(&body, "VALIDATION_ERROR");
    }
    console.finish().await;
}

#[tokio::test]
async fn a_job_shows_its_sanitised_payload_trail_actions_and_trace_link_and_never_a_planted_secret()
{
    let console = Console::start().await;
    let secret = "hunter2-planted-secret";
    let payload = format!(
        r#"{{"to": "ops@example.com", "password": "{secret}", "note": "<script>alert(1)</script>"}}"#
    );
    let id = seed_failed(
        &console,
        "mail",
        &payload,
        &format!("login failed password={secret}"),
        "4bf92f3577b34da6a3ce929d0e0e4736",
    )
    .await;
    let password = console.add_user("lee", "operator").await;
    let login = console.login("lee", &password).await;
    let (status, _) = send(
        console
            .with_session(Method::POST, "/api/v1/jobs/actions", &login)
            .header("x-csrf-token", &login.csrf)
            .json(&serde_json::json!({"action": "replay", "filter": {"queue": "mail"}, "reason": "fixed"})),
    )
    .await;
    assert_eq!(status, 200);
    let response = console
        .with_session(Method::GET, &format!("/api/v1/jobs/{id}"), &login)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 200);
    let text = response.text().await.unwrap_or_default();
    assert!(!text.contains(secret), "{text}");
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(body["job"]["payload"]["password"], "[REDACTED]", "{body}");
    let kinds: Vec<&str> = body["timeline"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["attempt", "action"], "{body}");
    assert_eq!(body["timeline"][1]["actor"], "lee");
    assert_eq!(
        body["trace_links"][0]["url"],
        "http://jaeger.example:16686/trace/4bf92f3577b34da6a3ce929d0e0e4736"
    );
    // Every other answer that could show it: none carries the secret.
    for path in [
        "/api/v1/jobs?queue=mail",
        "/api/v1/failures",
        "/api/v1/queues",
    ] {
        let text = console
            .with_session(Method::GET, path, &login)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .text()
            .await
            .unwrap_or_default();
        assert!(!text.contains(secret), "{path}: {text}");
    }
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/jobs/999999", &login)).await;
    assert_eq!(status, 404, "{body}");
    assert_error(&body, "NOT_FOUND");
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/jobs/1%27%20OR%201=1", &login)).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    console.finish().await;
}

#[tokio::test]
async fn the_overview_counts_attempts_failures_queues_workers_and_the_alert() {
    let console = Console::start().await;
    for n in 0..3 {
        seed_failed(&console, "mail", "{}", &format!("down {n}"), "").await;
    }
    sqlx::raw_sql(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at)
         VALUES ('test.scripted', 'mail', '{}', 'succeeded', 1, 1, now());
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         SELECT id, job_type, queue, 1, 'seed', now(), now(), 1, 'succeeded', 'succeeded' FROM herald.jobs WHERE state = 'succeeded';
         INSERT INTO herald.workers (id, hostname, pid, queues, started_at, heartbeat_at)
         VALUES ('w-1', 'host-a', 42, '{mail}', now(), now() - interval '3 seconds');
         INSERT INTO herald.alert_events (alert, scope, transition, severity, failure_rate, attempts, failures, threshold, window_seconds, worker_id)
         VALUES ('failure_rate', '*', 'tripped', 'critical', 0.75, 4, 3, 0.05, 300, 'w-1')",
    )
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let password = console.add_user("max", "viewer").await;
    let login = console.login("max", &password).await;
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/overview?window=1h", &login)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["attempts"].as_i64(), body["failures"].as_i64()),
        (Some(4), Some(3)),
        "{body}"
    );
    assert_eq!(body["failure_rate"].as_f64(), Some(0.75));
    assert_eq!(body["threshold"].as_f64(), Some(0.05));
    assert_eq!(
        (
            body["by_outcome"]["dead"].as_i64(),
            body["by_outcome"]["succeeded"].as_i64()
        ),
        (Some(3), Some(1))
    );
    assert_eq!(body["queues"][0]["dead"].as_i64(), Some(3), "{body}");
    let age = body["workers"][0]["heartbeat_age_secs"]
        .as_f64()
        .unwrap_or_default();
    assert!(age >= 3.0, "{body}");
    assert_eq!(body["alert"]["firing"], true, "{body}");
    assert_eq!(body["alert"]["recent"][0]["transition"], "tripped");
    let (status, body) =
        send(console.with_session(Method::GET, "/api/v1/overview?window=forever", &login)).await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    console.finish().await;
}
