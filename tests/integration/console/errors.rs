//! Every error code in the one shape, from real requests: never SQL, a path or a type
//! name; an internal failure answered with the request id only; oversized bodies
//! refused; a slow request cut off.

use std::time::Duration;

use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Console, assert_error, send};
use herald_tests::db::TestDb;

/// Text no error answer may contain.
const LEAKS: [&str; 8] = [
    "SELECT",
    "relation",
    "herald.",
    "src/",
    ".rs",
    "panicked",
    "LoginBody",
    "sqlx",
];

fn assert_no_leak(body: &serde_json::Value) {
    let text = body.to_string();
    for leak in LEAKS {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
}

#[tokio::test]
async fn bad_input_answers_each_code_in_the_one_shape() {
    let console = Console::start().await;
    let login_url = console.url("/api/v1/login");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        (
            console.http.get(console.url("/no/such/page")),
            404,
            "NOT_FOUND",
        ),
        (
            console
                .http
                .post(&login_url)
                .header("content-type", "application/json")
                .body("{not json"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            console
                .http
                .post(&login_url)
                .json(&serde_json::json!({"username": "x"})),
            400,
            "VALIDATION_ERROR",
        ),
        (
            console.http.post(&login_url).json(&serde_json::json!([])),
            400,
            "VALIDATION_ERROR",
        ),
        (
            console.http.post(&login_url).body("username=x&password=y"),
            400,
            "VALIDATION_ERROR",
        ),
        (
            console
                .http
                .post(&login_url)
                .json(&serde_json::json!({"username": " ", "password": "y"})),
            400,
            "VALIDATION_ERROR",
        ),
        (
            console.http.get(console.url("/api/v1/session")),
            401,
            "UNAUTHENTICATED",
        ),
    ];
    for (request, status, code) in cases {
        let (got, body) = send(request).await;
        assert_eq!(got, status, "{body}");
        assert_error(&body, code);
        assert_no_leak(&body);
    }
    console.finish().await;
}

#[tokio::test]
async fn an_oversized_body_is_cut_off_with_payload_too_large() {
    let console = Console::start().await;
    let huge = "x".repeat(200 * 1024);
    let (status, body) = send(
        console
            .http
            .post(console.url("/api/v1/login"))
            .json(&serde_json::json!({"username": "a", "password": huge})),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert_error(&body, "PAYLOAD_TOO_LARGE");
    assert!(
        console.events().await.is_empty(),
        "an oversized login is not even tried"
    );
    console.finish().await;
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_is_cut_off_with_timeout() {
    let console = Console::serve(TestDb::new().await, Duration::from_secs(1)).await;
    let addr = console.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user";
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    // Bounded wait: the server must answer and close on its own.
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server never cut the slow request off");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains(r#""code":"TIMEOUT""#), "{answer}");
    console.finish().await;
}

#[tokio::test]
async fn an_unexpected_failure_is_internal_error_with_a_request_id_and_no_detail() {
    let console = Console::start().await;
    let password = console.add_user("frank", "viewer").await;
    let login = console.login("frank", &password).await;
    // Break the schema under the running console: the query fails with SQL detail.
    sqlx::raw_sql("ALTER TABLE herald.jobs RENAME TO jobs_gone")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let response = console
        .with_session(Method::GET, "/api/v1/queues", &login)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status().as_u16(), 500);
    let header_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body: serde_json::Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
    assert_error(&body, "INTERNAL_ERROR");
    assert_no_leak(&body);
    let id = body["error"]["request_id"].as_str().map(str::to_owned);
    assert!(id.as_ref().is_some_and(|id| id.len() == 16), "{body}");
    assert_eq!(id, header_id);
    sqlx::raw_sql("ALTER TABLE herald.jobs_gone RENAME TO jobs")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    console.finish().await;
}
