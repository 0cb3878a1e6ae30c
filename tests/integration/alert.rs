//! The failure-rate alert end to end: a real worker process crosses 5 % and comes back;
//! exactly one CRITICAL trip and one resolve per scope, in the log, the gauge and the
//! audit table, and `herald stats` agrees with the audit table.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::{Step, fail};
use herald_tests::metrics::{free_addr, sample, scrape};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::in_process;
use crate::enqueue_scripted;
use crate::process::WorkerProcess;

async fn transitions(pool: &PgPool) -> Vec<(String, String, String)> {
    sqlx::query_as("SELECT scope, transition, severity FROM herald.alert_events ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn firing(addr: std::net::SocketAddr, want: f64) -> Option<()> {
    let text = scrape(addr).await?;
    (sample(&text, "herald_failure_rate_alert_firing", "job_type=\"*\"") == Some(want))
        .then_some(())
}

#[tokio::test]
async fn the_alert_trips_once_and_resolves_once() {
    let db = TestDb::new().await;
    let addr = free_addr();
    let mut env = test_env(&db.url, "alerting");
    env.insert("HERALD_METRICS_ADDR".into(), addr.to_string());
    env.insert("HERALD_FAILURE_RATE_WINDOW".into(), "3s".into());
    env.insert("HERALD_FAILURE_RATE_MIN_SAMPLES".into(), "10".into());
    let mut worker = WorkerProcess::spawn(&env);

    // Phase 1: 4 failures in 24 attempts (17 %), well over 5 %.
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(enqueue_scripted(&db.pool, &format!("ok-{i}"), vec![Step::Succeed], 1).await);
    }
    for i in 0..4 {
        ids.push(enqueue_scripted(&db.pool, &format!("bad-{i}"), vec![fail("NOT_FOUND")], 1).await);
    }
    settled(&db.pool, &ids, Duration::from_secs(30)).await;
    eventually("the alert to fire", Duration::from_secs(10), || {
        firing(addr, 1.0)
    })
    .await;
    // The gauge is set before the transition's row is written: wait for the row too.
    eventually(
        "the trip to be recorded",
        Duration::from_secs(10),
        || async {
            let trips: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM herald.alert_events WHERE transition = 'tripped'",
            )
            .fetch_one(&db.pool)
            .await
            .ok()?;
            (trips > 0).then_some(())
        },
    )
    .await;

    let stats = in_process(Some(&db.url), &["stats", "--window", "1h", "--json"]).await;
    assert!(
        stats.status.success(),
        "{}",
        String::from_utf8_lossy(&stats.stderr)
    );
    let report: Value = serde_json::from_slice(&stats.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report["attempts"], 24);
    assert_eq!(report["failures"], 4);
    assert_eq!(report["job_types"][0]["job_type"], "test.scripted");
    assert!(report["alerts"].as_array().is_some_and(|a| !a.is_empty()));
    let table = in_process(Some(&db.url), &["stats"]).await;
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(
        table.contains(
            "failure rate over the last 300s, all workers: 16.67% (4 of 24 attempts failed), ABOVE"
        ),
        "{table}"
    );
    let bad = in_process(Some(&db.url), &["stats", "--window", "soon"]).await;
    assert_eq!(bad.status.code(), Some(2), "a bad window is a usage error");

    // Phase 2: only successes; the failures age out of the 3 s window.
    let mut more = Vec::new();
    for i in 0..10 {
        more.push(enqueue_scripted(&db.pool, &format!("good-{i}"), vec![Step::Succeed], 1).await);
    }
    settled(&db.pool, &more, Duration::from_secs(30)).await;
    eventually("the alert to resolve", Duration::from_secs(15), || {
        firing(addr, 0.0)
    })
    .await;

    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());
    let rows = transitions(&db.pool).await;
    for scope in ["*", "test.scripted"] {
        let of: Vec<(&str, &str)> = rows
            .iter()
            .filter(|(s, _, _)| s == scope)
            .map(|(_, t, sev)| (t.as_str(), sev.as_str()))
            .collect();
        assert_eq!(
            of,
            vec![("tripped", "CRITICAL"), ("resolved", "INFO")],
            "{scope}"
        );
    }
    let events = worker.events();
    let alert_events: Vec<&Value> = events
        .iter()
        .filter(|e| e["target"] == "herald::alert" && e["alert"] == "job_failure_rate")
        .collect();
    let critical: Vec<&&Value> = alert_events
        .iter()
        .filter(|e| e["severity"] == "CRITICAL" && e["alert.transition"] == "tripped")
        .collect();
    assert_eq!(critical.len(), 2, "one trip per scope: {alert_events:#?}");
    assert!(critical.iter().all(|e| e["level"] == "ERROR"));
    let resolved = alert_events
        .iter()
        .filter(|e| e["alert.transition"] == "resolved")
        .count();
    assert_eq!(resolved, 2, "one resolve per scope");
    db.finish().await;
}
