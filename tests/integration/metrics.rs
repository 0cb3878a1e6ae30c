//! `/metrics` over HTTP from a running worker, checked against the audit table.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::{Step, fail};
use herald_tests::metrics::{free_addr, sample, scrape};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::InProcessWorker;

use crate::enqueue_scripted;

#[tokio::test]
async fn scraped_counters_match_the_audit_table() {
    let db = TestDb::new().await;
    let addr = free_addr();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(enqueue_scripted(&db.pool, &format!("ok-{i}"), vec![Step::Succeed], 3).await);
    }
    ids.push(
        enqueue_scripted(
            &db.pool,
            "retried",
            vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
            3,
        )
        .await,
    );
    ids.push(enqueue_scripted(&db.pool, "terminal", vec![fail("NOT_FOUND")], 3).await);
    ids.push(
        enqueue_scripted(
            &db.pool,
            "panics",
            vec![Step::Panic {
                message: "boom".into(),
            }],
            1,
        )
        .await,
    );
    let addr_text = addr.to_string();
    let worker = InProcessWorker::start(
        &db,
        "scraped",
        &[("HERALD_METRICS_ADDR", addr_text.as_str())],
    )
    .await;
    settled(&db.pool, &ids, Duration::from_secs(30)).await;
    let text = eventually("metrics over HTTP", Duration::from_secs(10), || {
        scrape(addr)
    })
    .await;

    let audited: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, count(*) FROM herald.attempts WHERE job_type = 'test.scripted' GROUP BY outcome",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        audited.len(),
        3,
        "succeeded, retrying and dead: {audited:?}"
    );
    let mut total = 0;
    for (outcome, count) in &audited {
        let labels = format!("job_type=\"test.scripted\",outcome=\"{outcome}\"");
        assert_eq!(
            sample(&text, "herald_job_attempts_total", &labels),
            Some(*count as f64),
            "{outcome} in\n{text}"
        );
        total += count;
    }
    assert_eq!(
        sample(
            &text,
            "herald_job_attempt_duration_seconds_count",
            "job_type=\"test.scripted\""
        ),
        Some(total as f64)
    );
    let dead: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE state = 'dead'")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sample(
            &text,
            "herald_jobs_dead_total",
            "job_type=\"test.scripted\""
        ),
        Some(dead as f64)
    );
    assert_eq!(
        sample(
            &text,
            "herald_job_retries_scheduled_total",
            "job_type=\"test.scripted\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "herald_job_panics_total",
            "job_type=\"test.scripted\""
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            "herald_queue_jobs",
            "queue=\"default\",state=\"succeeded\""
        ),
        None,
        "finished history is not counted at scrape"
    );
    assert_eq!(
        sample(
            &text,
            "herald_queue_jobs",
            "queue=\"default\",state=\"dead\""
        ),
        Some(dead as f64),
        "queue depth comes from the jobs table"
    );
    assert_eq!(
        sample(&text, "herald_db_pool_connections", "state=\"max\""),
        Some(10.0)
    );
    assert!(
        sample(
            &text,
            "herald_worker_heartbeat_age_seconds",
            "worker=\"scraped\""
        )
        .is_some()
    );
    // 2 dead jobs + 1 retry of 7 attempts: far above 5 %, but under the 20-attempt minimum.
    assert_eq!(
        sample(&text, "herald_failure_rate_alert_firing", "job_type=\"*\""),
        Some(0.0)
    );
    // A paused queue is exported with how long it has been paused, and only while paused.
    assert_eq!(
        sample(&text, "herald_queue_paused_seconds", "queue=\"partners\""),
        None
    );
    sqlx::query(
        "INSERT INTO herald.queue_pauses (queue, paused_at, paused_by, reason)
         VALUES ('partners', now() - interval '2 hours', 'oncall', 'incident')",
    )
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let paused = scrape(addr).await.unwrap_or_default();
    let seconds = sample(&paused, "herald_queue_paused_seconds", "queue=\"partners\"");
    assert!(seconds.is_some_and(|s| s >= 7200.0), "{seconds:?}");
    worker.stop().await;
    db.finish().await;
}
