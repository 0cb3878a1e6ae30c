//! Actions on all jobs matching a filter: a viewer is refused (and audited); an
//! operator gets a dry-run count first, must give a reason, and is the recorded actor;
//! SQL-looking filter values are only data.

use reqwest::Method;
use serde_json::json;

use super::{Console, Login, assert_error, send};

/// Inserts `n` dead jobs in `queue` (one failed attempt each); returns their ids.
async fn seed_dead(console: &Console, queue: &str, n: i32) -> Vec<i64> {
    sqlx::query_scalar(
        "WITH j AS (
             INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at, last_error_code)
             SELECT 'test.scripted', $2, '{}', 'dead', 1, 1, now(), 'TIMEOUT' FROM generate_series(1, $1)
             RETURNING id, job_type, queue, finished_at)
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message)
         SELECT id, job_type, queue, 1, 'seed', finished_at, finished_at, 1, 'dead', 'dead', 'TIMEOUT', 'terminal', 'took too long'
         FROM j RETURNING job_id",
    )
    .bind(n)
    .bind(queue)
    .fetch_all(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"))
}

async fn act(
    console: &Console,
    login: &Login,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    send(
        console
            .with_session(Method::POST, "/api/v1/jobs/actions", login)
            .header("x-csrf-token", &login.csrf)
            .json(&body),
    )
    .await
}

async fn pending(console: &Console) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'pending'")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_viewer_replaying_is_permission_denied_and_audited() {
    let console = Console::start().await;
    seed_dead(&console, "mail", 2).await;
    let password = console.add_user("victor", "viewer").await;
    let login = console.login("victor", &password).await;
    let (status, body) = act(
        &console,
        &login,
        json!({"action": "replay", "filter": {"queue": "mail"}, "dry_run": true}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_error(&body, "PERMISSION_DENIED");
    assert_eq!(pending(&console).await, 0);
    let denied: Vec<_> = console
        .events()
        .await
        .into_iter()
        .filter(|e| e.1 == "permission_denied")
        .collect();
    assert_eq!(denied.len(), 1, "{denied:?}");
    assert_eq!(
        (denied[0].0.as_str(), denied[0].3.as_str()),
        ("victor", "POST /api/v1/jobs/actions")
    );
    console.finish().await;
}

#[tokio::test]
async fn an_operator_replays_a_filter_after_a_dry_run_count_with_a_reason_as_the_actor() {
    let console = Console::start().await;
    let mail = seed_dead(&console, "mail", 3).await;
    seed_dead(&console, "sms", 2).await;
    let password = console.add_user("olga", "operator").await;
    let login = console.login("olga", &password).await;
    let filter = json!({"queue": "mail", "state": ["dead"]});
    let (status, dry) = act(
        &console,
        &login,
        json!({"action": "replay", "filter": filter, "dry_run": true}),
    )
    .await;
    assert_eq!(status, 200, "{dry}");
    assert_eq!(
        (dry["count"].as_i64(), dry["dry_run"].as_bool()),
        (Some(3), Some(true))
    );
    assert_eq!(pending(&console).await, 0, "a dry run changes nothing");
    let (status, body) = act(
        &console,
        &login,
        json!({"action": "replay", "filter": filter}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("reason")),
        "{body}"
    );
    let (status, body) = act(&console, &login, json!({"action": "replay", "filter": {}})).await;
    assert_eq!(status, 400, "an empty filter is refused: {body}");
    let (status, done) = act(
        &console,
        &login,
        json!({"action": "replay", "filter": filter, "reason": "relay fixed"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["count"].as_i64(), Some(3));
    assert_eq!(pending(&console).await, 3);
    let (actor, action, reason, ids): (String, String, Option<String>, Vec<i64>) = sqlx::query_as(
        "SELECT actor, action, reason, job_ids FROM herald.operator_actions WHERE id = $1",
    )
    .bind(done["action_id"].as_i64())
    .fetch_one(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut mail = mail;
    mail.sort_unstable();
    assert_eq!(
        (actor.as_str(), action.as_str(), reason.as_deref(), ids),
        ("olga", "replay", Some("relay fixed"), mail)
    );
    console.finish().await;
}

#[tokio::test]
async fn sql_looking_filter_values_are_only_data() {
    let console = Console::start().await;
    seed_dead(&console, "mail", 2).await;
    let password = console.add_user("mallory", "operator").await;
    let login = console.login("mallory", &password).await;
    for queue in [
        "mail' OR '1'='1",
        "mail'; UPDATE herald.jobs SET state = 'pending'; --",
        "%",
    ] {
        let (status, body) = act(
            &console,
            &login,
            json!({"action": "cancel", "filter": {"queue": queue}, "reason": "x"}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["count"].as_i64(), Some(0), "{queue}: {body}");
    }
    let (status, body) = act(
        &console,
        &login,
        json!({"action": "replay", "filter": {"state": ["dead' --"]}, "dry_run": true}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_error(&body, "VALIDATION_ERROR");
    let (status, body) = act(
        &console,
        &login,
        json!({"action": "drop table", "filter": {"queue": "mail"}}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'dead'")
        .fetch_one(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(dead, 2);
    console.finish().await;
}
