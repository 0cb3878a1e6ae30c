//! `CONFLICT` where it belongs: an action on one job whose state does not allow it is
//! refused with 409 and changes nothing; the allowed one changes the job once, and a
//! second identical request is then the conflict.

use reqwest::Method;
use serde_json::json;

use super::{Console, Login, assert_error, send};

/// Inserts one job of `state`; returns its id.
async fn seed(console: &Console, state: &str) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at)
         VALUES ('test.scripted', 'q', '{}', $1, 0, 3,
                 CASE WHEN $1 IN ('dead', 'cancelled', 'succeeded') THEN now() END)
         RETURNING id",
    )
    .bind(state)
    .fetch_one(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"))
}

async fn act(console: &Console, login: &Login, id: i64, action: &str) -> (u16, serde_json::Value) {
    send(
        console
            .with_session(Method::POST, &format!("/api/v1/jobs/{id}/actions"), login)
            .header("x-csrf-token", &login.csrf)
            .json(&json!({"action": action, "reason": "incident 7"})),
    )
    .await
}

async fn state(console: &Console, id: i64) -> String {
    sqlx::query_scalar("SELECT state FROM herald.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn actions(console: &Console) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM herald.operator_actions")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn an_action_on_one_job_its_state_does_not_allow_is_a_conflict_and_changes_nothing() {
    let console = Console::start().await;
    let password = console.add_user("olga", "operator").await;
    let login = console.login("olga", &password).await;
    let running = seed(&console, "running").await;
    let dead = seed(&console, "dead").await;
    let pending = seed(&console, "pending").await;

    for (id, action, was) in [
        (running, "replay", "running"),
        (dead, "cancel", "dead"),
        (pending, "replay", "pending"),
    ] {
        let (status, body) = act(&console, &login, id, action).await;
        assert_eq!(status, 409, "{action} {was}: {body}");
        assert_error(&body, "CONFLICT");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(&format!("is {was}")), "{body}");
        assert_eq!(state(&console, id).await, was);
    }
    assert_eq!(
        actions(&console).await,
        0,
        "a refused action records nothing"
    );

    // The allowed action changes the job, as the user; the same request again conflicts.
    let (status, body) = act(&console, &login, dead, "replay").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["job_id"], dead);
    assert_eq!(state(&console, dead).await, "pending");
    let actor: String = sqlx::query_scalar("SELECT actor FROM herald.operator_actions")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actor, "olga");
    let (status, body) = act(&console, &login, dead, "replay").await;
    assert_eq!(status, 409, "{body}");
    assert_error(&body, "CONFLICT");
    let (status, _) = act(&console, &login, pending, "cancel").await;
    assert_eq!(status, 200);
    assert_eq!(state(&console, pending).await, "cancelled");
    // A running job can be cancelled: it gets a request its worker acts on, and stays
    // running until then.
    let (status, body) = act(&console, &login, running, "cancel").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(state(&console, running).await, "running");
    let requested: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.cancel_requests WHERE job_id = $1")
            .bind(running)
            .fetch_one(&console.db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(requested, 1);

    // No such job: NOT_FOUND; no reason or an unknown action: VALIDATION_ERROR.
    let (status, body) = act(&console, &login, 987_654_321, "replay").await;
    assert_eq!(status, 404, "{body}");
    assert_error(&body, "NOT_FOUND");
    let (status, body) = send(
        console
            .with_session(
                Method::POST,
                &format!("/api/v1/jobs/{running}/actions"),
                &login,
            )
            .header("x-csrf-token", &login.csrf)
            .json(&json!({"action": "replay"})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    let (status, body) = act(&console, &login, running, "purge").await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    console.finish().await;
}

#[tokio::test]
async fn a_viewer_acting_on_one_job_is_permission_denied() {
    let console = Console::start().await;
    let password = console.add_user("vic", "viewer").await;
    let login = console.login("vic", &password).await;
    let dead = seed(&console, "dead").await;
    let (status, body) = act(&console, &login, dead, "replay").await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, "PERMISSION_DENIED");
    assert_eq!(state(&console, dead).await, "dead");
    console.finish().await;
}
