//! Named queues: each with its own concurrency limit; higher priority first within one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::{settled, state};
use herald_tests::workers::InProcessWorker;

async fn enqueue_to(db: &TestDb, queue: &str, key: &str, step: Step, priority: i16) -> i64 {
    let job = NewJob::new(&ScriptedJob::new(key, vec![step]))
        .unwrap_or_else(|e| panic!("{e}"))
        .queue(queue)
        .priority(priority);
    enqueue(&db.pool, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

/// The most attempts of `ids` that ran at the same time, from their recorded effects.
async fn max_overlap(db: &TestDb, ids: &[i64]) -> usize {
    let spans: Vec<(DateTime<Utc>, DateTime<Utc>)> = sqlx::query_as(
        "SELECT s.at, d.at FROM public.test_effects s
         JOIN public.test_effects d ON d.job_id = s.job_id AND d.attempt = s.attempt AND d.event = 'done'
         WHERE s.event = 'start' AND s.job_id = ANY($1)",
    )
    .bind(ids)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spans.len(), ids.len(), "every job ran once");
    spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, d)| s <= start && start < d)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn each_queue_runs_at_most_its_own_concurrency() {
    let db = TestDb::new().await;
    let mut solo = Vec::new();
    let mut wide = Vec::new();
    for i in 0..3 {
        solo.push(
            enqueue_to(
                &db,
                "solo",
                &format!("solo-{i}"),
                Step::Sleep { ms: 300 },
                0,
            )
            .await,
        );
    }
    for i in 0..4 {
        wide.push(
            enqueue_to(
                &db,
                "wide",
                &format!("wide-{i}"),
                Step::Sleep { ms: 800 },
                0,
            )
            .await,
        );
    }
    let worker = InProcessWorker::start(&db, "w1", &[("HERALD_QUEUES", "solo=1,wide=4")]).await;
    let all: Vec<i64> = solo.iter().chain(&wide).copied().collect();
    settled(&db.pool, &all, Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(
        max_overlap(&db, &solo).await,
        1,
        "solo=1 ran jobs side by side"
    );
    let wide_overlap = max_overlap(&db, &wide).await;
    assert!(
        (2..=4).contains(&wide_overlap),
        "wide=4 ran {wide_overlap} at once"
    );
    db.finish().await;
}

#[tokio::test]
async fn higher_priority_jobs_start_first_within_a_queue_and_other_queues_wait() {
    let db = TestDb::new().await;
    let plan = [("p0", 0), ("p5a", 5), ("pm1", -1), ("p10", 10), ("p5b", 5)];
    let mut ids = Vec::new();
    for (key, priority) in plan {
        ids.push(enqueue_to(&db, "ordered", key, Step::Succeed, priority).await);
    }
    let elsewhere = enqueue_to(&db, "elsewhere", "other", Step::Succeed, 100).await;
    let worker = InProcessWorker::start(&db, "w1", &[("HERALD_QUEUES", "ordered=1")]).await;
    settled(&db.pool, &ids, Duration::from_secs(30)).await;
    worker.stop().await;
    let order: Vec<String> = sqlx::query_scalar(
        "SELECT job_key FROM public.test_effects WHERE event = 'start' ORDER BY at, id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(order, ["p10", "p5a", "p5b", "p0", "pm1"]);
    assert_eq!(state(&db.pool, elsewhere).await, "pending");
    db.finish().await;
}
