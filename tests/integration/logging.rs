//! The log events of finished attempts: one WARN per retry, one ERROR per dead job,
//! never both, never twice, with the documented fields.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::{Step, fail};
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use serde_json::Value;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

fn audit_events<'a>(events: &'a [Value], job: i64, level: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["target"] == "herald::audit" && e["job.id"] == job && e["level"] == level)
        .collect()
}

#[tokio::test]
async fn retries_log_one_warn_and_dead_jobs_one_error_that_says_why_they_are_dead() {
    let db = TestDb::new().await;
    let retried = enqueue_scripted(
        &db.pool,
        "retried",
        vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
        3,
    )
    .await;
    let terminal = enqueue_scripted(&db.pool, "terminal", vec![fail("NOT_FOUND")], 3).await;
    let exhausted = enqueue_scripted(&db.pool, "exhausted", vec![fail("TIMEOUT")], 2).await;
    let mut worker = WorkerProcess::spawn(&test_env(&db.url, "logger"));
    settled(
        &db.pool,
        &[retried, terminal, exhausted],
        Duration::from_secs(30),
    )
    .await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());
    let events = worker.events();

    let warn = audit_events(&events, retried, "WARN");
    assert_eq!(warn.len(), 1, "one WARN for the retry");
    assert_eq!(warn[0]["error.code"], "UPSTREAM_UNAVAILABLE");
    assert_eq!(warn[0]["error.class"], "retryable");
    assert_eq!(warn[0]["job.attempt"], 1);
    assert_eq!(warn[0]["job.max_attempts"], 3);
    assert_eq!(warn[0]["job.type"], "test.scripted");
    assert!(warn[0]["next_run_at"].is_string());
    assert!(
        audit_events(&events, retried, "ERROR").is_empty(),
        "a retried job is never ERROR"
    );

    let error = audit_events(&events, terminal, "ERROR");
    assert_eq!(error.len(), 1, "one ERROR for the terminal failure");
    assert_eq!(error[0]["error.code"], "NOT_FOUND");
    assert_eq!(error[0]["error.class"], "terminal");
    assert_eq!(
        error[0]["message"],
        "job is dead: terminal error NOT_FOUND on attempt 1 of 3, not retried"
    );
    assert_eq!(error[0]["dead.reason"], "terminal_error");
    assert!(
        audit_events(&events, terminal, "WARN").is_empty(),
        "a terminal failure is not also WARN"
    );

    assert_eq!(audit_events(&events, exhausted, "WARN").len(), 1);
    let error = audit_events(&events, exhausted, "ERROR");
    assert_eq!(error.len(), 1, "one ERROR when the budget runs out");
    assert_eq!(error[0]["job.attempt"], 2);
    assert_eq!(error[0]["error.class"], "retryable");
    assert_eq!(
        error[0]["message"],
        "job is dead: attempts exhausted (2 of 2), last error TIMEOUT"
    );
    assert_eq!(error[0]["dead.reason"], "attempts_exhausted");

    for event in &events {
        for key in ["timestamp", "level", "target", "filename", "line_number"] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
        }
    }
    db.finish().await;
}
