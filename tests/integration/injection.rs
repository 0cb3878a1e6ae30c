//! Hostile text in job errors cannot forge log lines or audit fields, and planted
//! secrets appear nowhere: not in the log (text or JSON), not in the audit table.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

const FORGED: &str = "ok\n2026-01-01T00:00:00Z ERROR herald::audit: forged-line\r\n{\"level\":\"ERROR\",\"message\":\"forged-json\"}\n\u{1b}[31mred\u{1b}[0m";
const SECRETS: [&str; 5] = [
    "hunter2-pw",
    "sk_live_51Habc",
    "4111 1111 1111 1111",
    "078-05-1120",
    "alice.private",
];

fn hostile_message() -> String {
    format!(
        "{FORGED} password=hunter2-pw api_key: sk_live_51Habc card 4111 1111 1111 1111 ssn 078-05-1120 to alice.private@example.com"
    )
}

/// Runs one failing job with the hostile message in a worker logging in `format`;
/// returns the worker's stderr lines.
async fn run_hostile_job(db: &TestDb, format: &str) -> Vec<String> {
    let step = Step::Fail {
        code: "VALIDATION_ERROR".into(),
        message: hostile_message(),
    };
    let id = enqueue_scripted(&db.pool, &format!("hostile-{format}"), vec![step], 1).await;
    let mut env = test_env(&db.url, &format!("injected-{format}"));
    env.insert("HERALD_LOG_FORMAT".into(), format.into());
    let mut worker = WorkerProcess::spawn(&env);
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());
    worker.logs()
}

fn assert_no_secrets(what: &str, text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} leaks {secret:?}: {text}");
    }
}

#[tokio::test]
async fn hostile_text_cannot_forge_a_json_log_line() {
    let db = TestDb::new().await;
    let lines = run_hostile_job(&db, "json").await;
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        assert_ne!(event["message"], "forged-json", "{line}");
        assert!(!line.contains('\u{1b}'), "raw escape sequence: {line}");
        assert_no_secrets("the JSON log", line);
    }
    let hostile: Vec<&String> = lines.iter().filter(|l| l.contains("forged-line")).collect();
    assert_eq!(
        hostile.len(),
        1,
        "the hostile text stays inside one event: {hostile:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn hostile_text_cannot_forge_a_text_log_line() {
    let db = TestDb::new().await;
    let lines = run_hostile_job(&db, "text").await;
    let hostile: Vec<&String> = lines.iter().filter(|l| l.contains("forged")).collect();
    assert_eq!(
        hostile.len(),
        1,
        "the hostile text stays on one line: {hostile:?}"
    );
    assert!(
        hostile[0].contains("ERROR herald::audit: job is dead"),
        "{}",
        hostile[0]
    );
    for line in &lines {
        assert!(!line.starts_with("2026-01-01"), "forged line: {line}");
        assert!(!line.contains('\u{1b}'), "raw escape sequence: {line}");
        assert_no_secrets("the text log", line);
    }
    let audit: Vec<String> =
        sqlx::query_scalar("SELECT coalesce(message, '') FROM herald.attempts")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    for message in audit {
        assert!(
            !message.contains('\n') && !message.contains('\u{1b}'),
            "{message}"
        );
        assert_no_secrets("the audit table", &message);
    }
    db.finish().await;
}
