//! Logging in and out: the cookie, the session, the audit rows, and the failed-login
//! throttle held across two console processes by the database.

use reqwest::Method;

use super::{Console, assert_error, send};
use crate::cli::{in_process, text};

#[tokio::test]
async fn login_opens_a_strict_http_only_secure_session_and_is_audited() {
    let console = Console::start().await;
    let password = console.add_user("alice", "operator").await;
    let login = console.login("alice", &password).await;
    for part in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
        assert!(login.set_cookie.contains(part), "{}", login.set_cookie);
    }
    let (status, body) = send(console.with_session(Method::GET, "/api/v1/session", &login)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["username"].as_str(), body["role"].as_str()),
        (Some("alice"), Some("operator"))
    );
    assert_eq!(body["csrf_token"].as_str(), Some(login.csrf.as_str()));
    let events = console.events().await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (actor, event, source, attempted) = &events[0];
    assert_eq!(
        (actor.as_str(), event.as_str(), source.as_str()),
        ("alice", "login", "127.0.0.1")
    );
    assert_eq!(attempted, "POST /api/v1/login");
    // The token itself is not stored: only its hash.
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM herald.console_sessions")
        .fetch_all(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let token = login.cookie.trim_start_matches("herald_session=");
    assert_eq!(stored.len(), 1);
    assert!(
        !stored[0]
            .windows(8)
            .any(|w| token.as_bytes().windows(8).any(|t| t == w))
    );
    console.finish().await;
}

#[tokio::test]
async fn logout_ends_the_session_everywhere_and_is_audited() {
    let console = Console::start().await;
    let password = console.add_user("bob", "viewer").await;
    let login = console.login("bob", &password).await;
    let (status, _) = send(
        console
            .with_session(Method::POST, "/api/v1/logout", &login)
            .header("x-csrf-token", &login.csrf),
    )
    .await;
    assert_eq!(status, 204);
    let (status, body) = send(console.with_session(Method::GET, "/api/v1/session", &login)).await;
    assert_eq!(status, 401);
    assert_error(&body, "UNAUTHENTICATED");
    let events: Vec<String> = console.events().await.into_iter().map(|e| e.1).collect();
    assert_eq!(events, ["login", "logout"]);
    console.finish().await;
}

#[tokio::test]
async fn failed_logins_are_audited_and_throttled_across_console_processes() {
    let console = Console::start().await;
    let password = console.add_user("carol", "operator").await;
    let (other, stop) = console.sibling().await;
    // Five failures, spread over both processes; an unknown user is the same answer.
    for (i, base) in [&console.base, &other, &console.base, &other, &console.base]
        .iter()
        .enumerate()
    {
        let (status, body) = console
            .try_login(base, "carol", &format!("wrong-{i}"))
            .await;
        assert_eq!(status, 401, "{body}");
        assert_error(&body, "UNAUTHENTICATED");
    }
    let (status, unknown) = console.try_login(&other, "nobody", "x").await;
    assert_eq!(status, 401);
    assert_eq!(unknown["error"]["message"], "wrong username or password");
    // The right password is now refused on either process, without being checked.
    for base in [&console.base, &other] {
        let (status, body) = console.try_login(base, "carol", &password).await;
        assert_eq!(status, 429, "{body}");
        assert_error(&body, "RATE_LIMITED");
    }
    let events: Vec<(String, String)> = console
        .events()
        .await
        .into_iter()
        .map(|(actor, event, _, _)| (actor, event))
        .collect();
    let count = |a: &str, e: &str| events.iter().filter(|(x, y)| x == a && y == e).count();
    assert_eq!(count("carol", "login_failed"), 5, "{events:?}");
    assert_eq!(count("nobody", "login_failed"), 1, "{events:?}");
    assert_eq!(count("carol", "login_throttled"), 2, "{events:?}");
    assert_eq!(count("carol", "login"), 0, "{events:?}");
    let _ = stop.send(());
    console.finish().await;
}

#[tokio::test]
async fn add_user_prints_a_fresh_password_and_refuses_a_taken_name() {
    let console = Console::start().await;
    let first = console.add_user("dave", "viewer").await;
    let second = console.add_user("erin", "viewer").await;
    assert_ne!(first, second);
    assert!(
        first.len() >= 20 && first.chars().all(|c| c.is_ascii_alphanumeric()),
        "{first}"
    );
    let again = in_process(
        Some(&console.db.url),
        &["console", "add-user", "dave", "--role", "operator"],
    )
    .await;
    assert_eq!(again.status.code(), Some(1));
    assert!(
        text(&again.stderr).contains("exists already"),
        "{}",
        text(&again.stderr)
    );
    let bad = in_process(
        Some(&console.db.url),
        &["console", "add-user", "<b>", "--role", "viewer"],
    )
    .await;
    assert_eq!(bad.status.code(), Some(2));
    let hash: String = sqlx::query_scalar(
        "SELECT password_hash FROM herald.console_users WHERE username = 'dave'",
    )
    .fetch_one(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hash.starts_with("$argon2id$") && !hash.contains(&first),
        "{hash}"
    );
    console.finish().await;
}

#[tokio::test]
async fn an_insecure_cookie_is_refused_on_a_non_loopback_address() {
    let out = in_process(
        None,
        &["console", "--addr", "0.0.0.0:0", "--insecure-cookie"],
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("needs a loopback --addr"),
        "{}",
        text(&out.stderr)
    );
    let out = in_process(None, &["console", "--trace-url", "javascript:alert(1)"]).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}
