//! Several worker processes on one database share the work; no attempt runs twice.

use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue_in};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;

use crate::process::WorkerProcess;

#[tokio::test]
async fn two_worker_processes_never_run_the_same_attempt_at_once() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    for n in 0..400 {
        let job = NewJob::new(&ScriptedJob::new(
            format!("j{n}"),
            vec![Step::Sleep { ms: 5 }],
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        ids.push(
            enqueue_in(&mut tx, job)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .id,
        );
    }
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

    let mut a = WorkerProcess::spawn(&test_env(&db.url, "a"));
    let mut b = WorkerProcess::spawn(&test_env(&db.url, "b"));
    settled(&db.pool, &ids, Duration::from_secs(60)).await;
    for worker in [&mut a, &mut b] {
        worker.signal(Signal::SIGTERM);
        assert!(worker.wait(Duration::from_secs(20)).success());
    }

    let runs_per_job: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT job_id, count(*) FROM public.test_effects WHERE event = 'start' GROUP BY job_id HAVING count(*) <> 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        runs_per_job.is_empty(),
        "jobs that ran other than once: {runs_per_job:?}"
    );
    let overlapping: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.attempts x JOIN herald.attempts y
           ON x.job_id = y.job_id AND x.id < y.id AND x.started_at < y.finished_at AND y.started_at < x.finished_at",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(overlapping, 0);
    let by_worker: Vec<(String, i64)> = sqlx::query_as(
        "SELECT worker_id, count(*) FROM herald.attempts GROUP BY worker_id ORDER BY worker_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(by_worker.len(), 2, "both workers took work: {by_worker:?}");
    assert_eq!(by_worker.iter().map(|(_, n)| n).sum::<i64>(), 400);
    db.finish().await;
}
