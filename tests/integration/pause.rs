//! Pausing and resuming a queue across a fleet of worker processes (`herald queues
//! pause|resume`): the stored pause is checked by the claim statement itself, so no
//! worker claims from a paused queue once the pause has committed, a worker started while
//! it is paused claims nothing either, and a resume lets every worker claim again.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_jobs::{NewJob, enqueue_many};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::in_process;
use crate::process::WorkerProcess;

/// One `bigint` from `sql` (shared with `hosts.rs`).
pub(crate) async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Runs `herald args…` in-process; returns stdout, asserting exit 0.
/// Runs `herald args…` in-process against `db`; returns stdout, asserting exit 0.
pub(crate) async fn herald_ok(db: &TestDb, args: &[&str]) -> String {
    let out = in_process(Some(&db.url), args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "herald {args:?}: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The `herald queues --json` row of `queue`.
async fn queue_row(db: &TestDb, queue: &str) -> Value {
    herald_ok(db, &["queues", "--json"])
        .await
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|row| row["queue"] == queue)
        .unwrap_or_else(|| panic!("no row for queue {queue}"))
}

/// Enqueues `n` jobs that each sleep 200 ms (keys `{prefix}0`…); returns their ids.
pub(crate) async fn enqueue_sleepers(pool: &PgPool, prefix: &str, n: usize) -> Vec<i64> {
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            NewJob::new(&ScriptedJob::new(
                format!("{prefix}{i}"),
                vec![Step::Sleep { ms: 200 }],
            ))
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    enqueue_many(pool, jobs)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| e.id)
        .collect()
}

fn spawn_worker(db: &TestDb, id: &str) -> WorkerProcess {
    WorkerProcess::spawn(&test_env(&db.url, id))
}

#[tokio::test]
async fn a_paused_queue_gets_no_new_claims_across_all_workers_and_resumes() {
    let db = TestDb::new().await;
    let ids = enqueue_sleepers(&db.pool, "j", 600).await;
    let mut workers: Vec<WorkerProcess> = ["w1", "w2", "w3"]
        .iter()
        .map(|id| spawn_worker(&db, id))
        .collect();
    eventually(
        "the fleet to be running jobs",
        Duration::from_secs(60),
        || async {
            (scalar(
                &db.pool,
                "SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'",
            )
            .await
                >= 30)
                .then_some(())
        },
    )
    .await;

    let out = herald_ok(
        &db,
        &[
            "queues",
            "pause",
            "default",
            "--reason",
            "incident 4521",
            "--actor",
            "oncall",
        ],
    )
    .await;
    assert!(out.starts_with("paused queue default (action "), "{out}");
    // The pause has committed: a claim whose statement starts later (its `claimed_at` is
    // its statement's start) sees it.
    let paused_at: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let row = queue_row(&db, "default").await;
    assert_eq!(row["state"], "paused", "{row}");
    assert_eq!(row["paused_by"], "oncall", "{row}");
    assert_eq!(row["pause_reason"], "incident 4521", "{row}");
    let again = herald_ok(&db, &["queues", "pause", "default", "--reason", "twice"]).await;
    assert!(
        again.contains("already paused") && again.contains("by oncall"),
        "{again}"
    );

    // Running jobs finish, and claimed jobs that had not started are given back.
    eventually(
        "running jobs to finish",
        Duration::from_secs(30),
        || async {
            (scalar(
                &db.pool,
                "SELECT count(*) FROM herald.jobs WHERE state = 'running'",
            )
            .await
                == 0)
                .then_some(())
        },
    )
    .await;
    let waiting = scalar(
        &db.pool,
        "SELECT count(*) FROM herald.jobs WHERE state = 'pending'",
    )
    .await;
    assert!(waiting > 0, "the pause came too late to hold any job back");
    // A held job says why it is not running.
    let held = scalar(
        &db.pool,
        "SELECT min(id) FROM herald.jobs WHERE state = 'pending'",
    )
    .await;
    let shown = herald_ok(&db, &["jobs", "show", &held.to_string()]).await;
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("held: queue paused since ")
                && l.ends_with(" by oncall: incident 4521")),
        "{shown}"
    );

    // A worker that starts while the queue is paused (it never got the notification)
    // claims nothing either: restart w1 and wait until the new process has polled.
    workers[0].signal(Signal::SIGTERM);
    workers[0].wait(Duration::from_secs(30));
    workers[0] = spawn_worker(&db, "w1-restarted");
    workers[0].wait_started(Duration::from_secs(60));
    eventually(
        "the restarted worker to run past its first safety poll",
        Duration::from_secs(30),
        || async {
            (scalar(
                &db.pool,
                "SELECT count(*) FROM herald.workers WHERE id = 'w1-restarted'
                 AND heartbeat_at > started_at + interval '1.5 s'",
            )
            .await
                > 0)
            .then_some(())
        },
    )
    .await;
    let claimed_after: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.jobs WHERE claimed_at > $1")
            .bind(paused_at)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(claimed_after, 0, "jobs claimed after the pause committed");
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM herald.jobs WHERE state = 'pending'"
        )
        .await,
        waiting,
        "paused jobs left the queue"
    );

    let out = herald_ok(&db, &["queues", "resume", "default", "--actor", "oncall"]).await;
    assert!(
        out.starts_with("resumed queue default, paused since "),
        "{out}"
    );
    settled(&db.pool, &ids, Duration::from_secs(120)).await;
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'"
        )
        .await,
        600
    );
    assert_eq!(queue_row(&db, "default").await["state"], "active");
    let shown = herald_ok(&db, &["jobs", "show", &held.to_string(), "--json"]).await;
    let shown: Value = serde_json::from_str(&shown).unwrap_or_else(|e| panic!("{e}: {shown}"));
    assert_eq!(shown["job"]["held"], Value::Null, "{shown}");
    let again = herald_ok(&db, &["queues", "resume", "default"]).await;
    assert_eq!(again, "queue default is not paused: left alone\n");

    // Both actions are in the audit log with their actor and reason.
    let audit = herald_ok(&db, &["audit", "--json"]).await;
    let actions: Vec<(String, String, Value)> = audit
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_owned(),
                a["actor"].as_str().unwrap_or_default().to_owned(),
                a["reason"].clone(),
            )
        })
        .collect();
    assert_eq!(
        actions,
        [
            ("resume".to_owned(), "oncall".to_owned(), Value::Null),
            (
                "pause".to_owned(),
                "oncall".to_owned(),
                Value::from("incident 4521")
            ),
        ]
    );
    for worker in &mut workers {
        worker.signal(Signal::SIGTERM);
        worker.wait(Duration::from_secs(30));
    }
    db.finish().await;
}

#[tokio::test]
async fn pause_and_resume_refuse_bad_input_and_change_nothing() {
    let db = TestDb::new().await;
    for args in [
        &["queues", "pause", "default"][..],
        &["queues", "pause", "default", "--reason", "  "],
        &["queues", "pause", "bad queue", "--reason", "x"],
        &["queues", "resume", ""],
    ] {
        let out = in_process(Some(&db.url), args).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    assert_eq!(
        scalar(&db.pool, "SELECT count(*) FROM herald.queue_pauses").await,
        0
    );
    assert_eq!(
        scalar(&db.pool, "SELECT count(*) FROM herald.operator_actions").await,
        0
    );
    db.finish().await;
}
