//! At-least-once under load, a test target of its own: four worker processes drain
//! 100,000 jobs while one of them is killed with SIGKILL and restarted. Every job ends
//! succeeded; its work completed exactly once unless its audit trail shows an abandoned
//! attempt; and the audit table holds exactly one row per attempt.

#[path = "../integration/process.rs"]
mod process;

use std::time::Duration;

use herald_jobs::enqueue::NewJob;
use herald_jobs::enqueue_many;
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use process::WorkerProcess;
use sqlx::PgPool;

const JOBS: usize = 100_000;
const BATCH: usize = 10_000;

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_drain_100k_jobs_at_least_once_through_a_kill() {
    let db = TestDb::new().await;
    let mut ids = Vec::with_capacity(JOBS);
    for batch in 0..JOBS / BATCH {
        let jobs: Vec<NewJob> = (0..BATCH)
            .map(|n| {
                NewJob::new(&ScriptedJob::new(
                    format!("load-{batch}-{n}"),
                    vec![Step::Succeed],
                ))
                .unwrap_or_else(|e| panic!("{e}"))
                .max_attempts(10)
            })
            .collect();
        let done = enqueue_many(&db.pool, jobs)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        ids.extend(done.into_iter().map(|e| e.id));
    }
    let env = |i: usize| {
        let mut env = test_env(&db.url, &format!("load-{i}"));
        env.insert("HERALD_QUEUES".into(), "default=16".into());
        env
    };
    let mut workers: Vec<WorkerProcess> = (0..4).map(|i| WorkerProcess::spawn(&env(i))).collect();

    eventually(
        "a third of the jobs to finish",
        Duration::from_secs(600),
        || async {
            let done = scalar(
                &db.pool,
                "SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'",
            )
            .await;
            (done >= (JOBS / 3) as i64).then_some(())
        },
    )
    .await;
    workers[0].kill_hard();
    workers[0] = WorkerProcess::spawn(&env(0));

    settled(&db.pool, &ids, Duration::from_secs(900)).await;
    for worker in &mut workers {
        worker.signal(Signal::SIGTERM);
        assert!(worker.wait(Duration::from_secs(60)).success());
        // The kill's abandoned attempts may trip the failure-rate alert (a CRITICAL event,
        // rightly); what must not appear is a dead job.
        let dead: Vec<_> = worker
            .events()
            .into_iter()
            .filter(|e| e["level"] == "ERROR" && e["target"] == "herald::audit")
            .collect();
        assert!(dead.is_empty(), "no job died: {dead:?}");
    }

    let pool = &db.pool;
    assert_eq!(
        scalar(pool, "SELECT count(*) FROM herald.jobs").await,
        JOBS as i64
    );
    assert_eq!(
        scalar(
            pool,
            "SELECT count(*) FROM herald.jobs WHERE state <> 'succeeded'"
        )
        .await,
        0
    );
    let twice_without_cause = scalar(
        pool,
        "SELECT count(*) FROM (
            SELECT job_id FROM public.test_effects WHERE event = 'done' GROUP BY job_id HAVING count(*) > 1
         ) d
         WHERE NOT EXISTS (SELECT 1 FROM herald.attempts a WHERE a.job_id = d.job_id AND a.outcome = 'abandoned')",
    )
    .await;
    assert_eq!(
        twice_without_cause, 0,
        "work done twice without an abandoned attempt to explain it"
    );
    let never_done = scalar(
        pool,
        "SELECT count(*) FROM herald.jobs j WHERE NOT EXISTS (
            SELECT 1 FROM public.test_effects e WHERE e.job_id = j.id AND e.attempt = j.attempt AND e.event = 'done')",
    )
    .await;
    assert_eq!(
        never_done, 0,
        "jobs marked succeeded whose last attempt did not complete its work"
    );
    assert_eq!(
        scalar(pool, "SELECT count(*) FROM herald.attempts").await,
        scalar(pool, "SELECT sum(attempt)::bigint FROM herald.jobs").await,
        "audit attempts == sum of job attempts"
    );
    let abandoned = scalar(
        pool,
        "SELECT count(*) FROM herald.attempts WHERE outcome = 'abandoned'",
    )
    .await;
    eprintln!(
        "load: {JOBS} jobs, 1 SIGKILL, {abandoned} abandoned attempts audited, 0 lost, 0 unaudited"
    );
    db.finish().await;
}
