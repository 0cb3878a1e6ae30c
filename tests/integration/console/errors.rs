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

/// Connects a raw TCP client to `console`.
async fn raw(console: &Console) -> tokio::net::TcpStream {
    let addr = console.base.trim_start_matches("http://").to_owned();
    tokio::net::TcpStream::connect(&addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Reads until the server closes the connection (a reset counts as closed), within a
/// generous bound: `None` when it never closed.
async fn read_until_closed(
    stream: &mut tokio::io::ReadHalf<tokio::net::TcpStream>,
) -> Option<String> {
    let mut answer = Vec::new();
    let mut chunk = [0_u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    read.ok()
        .map(|()| String::from_utf8_lossy(&answer).into_owned())
}

/// Writes `head`, then `piece` every 200 ms for up to 40 s (or until the server closes),
/// in the background.
fn trickle(
    mut writer: tokio::io::WriteHalf<tokio::net::TcpStream>,
    head: &'static str,
    piece: &'static str,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(piece.as_bytes()).await.is_err() {
                return;
            }
        }
    })
}

#[tokio::test]
async fn a_request_whose_body_never_arrives_is_cut_off_with_timeout() {
    let console = Console::serve(TestDb::new().await, Duration::from_secs(1)).await;
    let (mut reader, mut writer) = tokio::io::split(raw(&console).await);
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"user";
    writer
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server never cut the slow request off"));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"TIMEOUT""#), "{answer}");
    console.finish().await;
}

#[tokio::test]
async fn a_body_trickling_in_is_cut_off_with_408_timeout_and_closed() {
    let console = Console::serve(TestDb::new().await, Duration::from_secs(1)).await;
    let (mut reader, writer) = tokio::io::split(raw(&console).await);
    let head = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{";
    let writing = trickle(writer, head, " ");
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server never cut the trickling body off"));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#""code":"TIMEOUT""#), "{answer}");
    writing.abort();
    assert!(console.events().await.is_empty(), "no login was tried");
    console.finish().await;
}

#[tokio::test]
async fn a_silent_or_trickling_client_is_disconnected_after_the_header_timeout() {
    let console = Console::serve_with_header_timeout(
        TestDb::new().await,
        Duration::from_secs(30),
        Duration::from_secs(1),
    )
    .await;
    let (mut reader, writer) = tokio::io::split(raw(&console).await);
    let writing = trickle(
        writer,
        "GET /api/v1/session HTTP/1.1\r\nHost: x\r\n",
        "X-Slow: y\r\n",
    );
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server kept a trickling request head open"));
    assert_eq!(answer, "", "closed without an answer");
    writing.abort();
    // A silent connection is closed the same way.
    let (mut reader, _writer) = tokio::io::split(raw(&console).await);
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server kept a silent connection open"));
    assert_eq!(answer, "");
    // So is a keep-alive connection left idle after an answer.
    let (mut reader, mut writer) = tokio::io::split(raw(&console).await);
    writer
        .write_all(b"GET /api/v1/session HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server kept an idle keep-alive connection open"));
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1").count(), 1, "{answer}");
    console.finish().await;
}

#[tokio::test]
async fn an_oversized_chunked_body_or_head_is_refused_and_closed() {
    let console = Console::start().await;
    // A chunked body with no announced length, growing past the 64 KiB limit.
    let (mut reader, mut writer) = tokio::io::split(raw(&console).await);
    let writing = tokio::spawn(async move {
        let head = "POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if writer.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = format!("4000\r\n{}\r\n", "x".repeat(0x4000));
        for _ in 0..64 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
    });
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server never answered the oversized body"));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains(r#""code":"PAYLOAD_TOO_LARGE""#), "{answer}");
    writing.abort();
    // A request head over hyper's buffer: refused by the server before any route runs.
    let (mut reader, mut writer) = tokio::io::split(raw(&console).await);
    let writing = tokio::spawn(async move {
        let head = format!(
            "GET /api/v1/session HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
            "y".repeat(1024 * 1024)
        );
        let _ = writer.write_all(head.as_bytes()).await;
    });
    let answer = read_until_closed(&mut reader)
        .await
        .unwrap_or_else(|| panic!("the server never refused the oversized head"));
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    writing.abort();
    assert!(console.events().await.is_empty(), "no login was tried");
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
