//! Hostile input: no route answers without a session (nor with a forged one); a
//! state change without the CSRF token is refused and audited; SQL-looking and
//! script-looking text is only data.

use reqwest::Method;

use super::{Console, Login, assert_error, send};
use herald::console::router::ROUTES;

#[tokio::test]
async fn no_route_answers_without_a_session_or_with_a_forged_one() {
    let console = Console::start().await;
    let forged = Login {
        cookie: format!("herald_session={}", "ab".repeat(32)),
        csrf: String::new(),
        set_cookie: String::new(),
    };
    for (own, route) in ROUTES {
        for method in [Method::GET, Method::POST, Method::DELETE] {
            for login in [None, Some(&forged)] {
                let request = match login {
                    None => console.http.request(method.clone(), console.url(route)),
                    Some(login) => console.with_session(method.clone(), route, login),
                };
                let (status, body) = send(request).await;
                // Its own method: refused for want of a session; another: not allowed.
                let (want, code) = if method.as_str() == own {
                    (401, "UNAUTHENTICATED")
                } else {
                    (405, "METHOD_NOT_ALLOWED")
                };
                assert_eq!(status, want, "{method} {route}: {body}");
                assert_error(&body, code);
            }
        }
    }
    console.finish().await;
}

#[tokio::test]
async fn a_state_change_without_the_csrf_token_is_refused_and_audited() {
    let console = Console::start().await;
    let password = console.add_user("grace", "operator").await;
    let login = console.login("grace", &password).await;
    for token in [None, Some("0".repeat(64))] {
        let mut request = console.with_session(Method::POST, "/api/v1/logout", &login);
        if let Some(token) = &token {
            request = request.header("x-csrf-token", token);
        }
        let (status, body) = send(request).await;
        assert_eq!(status, 403, "{body}");
        assert_error(&body, "PERMISSION_DENIED");
    }
    // The session was not ended by the refused requests.
    let (status, _) = send(console.with_session(Method::GET, "/api/v1/session", &login)).await;
    assert_eq!(status, 200);
    let denied: Vec<_> = console
        .events()
        .await
        .into_iter()
        .filter(|e| e.1 == "permission_denied")
        .collect();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].0, "grace");
    assert!(denied[0].3.starts_with("POST /api/v1/logout"), "{denied:?}");
    console.finish().await;
}

#[tokio::test]
async fn sql_and_script_looking_usernames_are_only_data() {
    let console = Console::start().await;
    let password = console.add_user("heidi", "viewer").await;
    let hostile = [
        "heidi' OR '1'='1",
        "heidi'; DROP TABLE herald.console_users; --",
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "heidi\n2026-01-01 INFO forged line",
    ];
    for name in hostile {
        let (status, body) = console.try_login(&console.base, name, &password).await;
        assert_eq!(status, 401, "{name}: {body}");
        assert_error(&body, "UNAUTHENTICATED");
        assert!(!body.to_string().contains("<script>"), "{body}");
    }
    // The table is intact, the user can still log in, and each name was audited as given
    // (control characters escaped).
    console.login("heidi", &password).await;
    let actors: Vec<String> = console
        .events()
        .await
        .into_iter()
        .filter(|e| e.1 == "login_failed")
        .map(|e| e.0)
        .collect();
    assert_eq!(actors.len(), hostile.len(), "{actors:?}");
    assert_eq!(actors[0], hostile[0]);
    assert_eq!(actors[2], hostile[2]);
    assert!(!actors[4].contains('\n'), "{actors:?}");
    console.finish().await;
}
