//! Workers on separate hosts: worker processes in two network namespaces reach a private
//! PostgreSQL over their veth pairs only (`herald_tests::netns`; root needed, as in CI),
//! and fleet-wide flow control holds across them, not only across processes sharing one
//! loopback: a paused queue gets no new claims from either host and resumes on both.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_tests::db::TestDb;
use herald_tests::netns::{Hosts, NetnsPostgres};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use sqlx::PgPool;

use crate::pause::{enqueue_sleepers, herald_ok, scalar};
use crate::process::WorkerProcess;

/// The workers whose attempts started after `since`.
async fn workers_started_after(pool: &PgPool, since: DateTime<Utc>) -> BTreeSet<String> {
    sqlx::query_scalar("SELECT DISTINCT worker_id FROM herald.attempts WHERE started_at > $1")
        .bind(since)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect()
}

async fn now(pool: &PgPool) -> DateTime<Utc> {
    sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_pause_stops_claims_on_workers_on_two_hosts_and_a_resume_restarts_both() {
    let hosts = Hosts::new(2);
    // Blocking set-up before anything else runs on this runtime.
    let pg = NetnsPostgres::start(&hosts);
    let db = TestDb::on_server(&pg.admin_url()).await;
    let ids = enqueue_sleepers(&db.pool, "h", 400).await;
    let names = ["host0-w", "host1-w"];
    let mut workers: Vec<WorkerProcess> = hosts
        .all()
        .iter()
        .zip(names)
        .map(|(host, id)| {
            WorkerProcess::spawn_on(host, &test_env(&pg.url_from(host, &db.name), id))
        })
        .collect();
    let start = now(&db.pool).await;
    eventually(
        "both hosts to be running jobs",
        Duration::from_secs(60),
        || async { (workers_started_after(&db.pool, start).await.len() == 2).then_some(()) },
    )
    .await;
    // Their connections come from the hosts' own addresses: the veth pairs.
    let clients: BTreeSet<String> = sqlx::query_scalar::<_, Option<String>>(
        "SELECT DISTINCT host(client_addr) FROM pg_stat_activity
         WHERE datname = current_database() AND client_addr <> '127.0.0.1'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .flatten()
    .collect();
    let expected: BTreeSet<String> = hosts.all().iter().map(|h| h.address()).collect();
    assert_eq!(
        clients, expected,
        "workers not connected over their veth pairs"
    );

    herald_ok(
        &db,
        &[
            "queues", "pause", "default", "--reason", "incident", "--actor", "oncall",
        ],
    )
    .await;
    // The pause has committed: a claim whose statement starts later sees it.
    let paused_at = now(&db.pool).await;
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
    // Both workers stay alive and poll (HERALD_POLL_INTERVAL 1s) past the pause.
    eventually(
        "both workers to heartbeat well past the pause",
        Duration::from_secs(30),
        || async {
            let alive: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM herald.workers WHERE heartbeat_at > $1 + interval '1.5 s'",
            )
            .bind(paused_at)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
            (alive == 2).then_some(())
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
    let waiting = scalar(
        &db.pool,
        "SELECT count(*) FROM herald.jobs WHERE state = 'pending'",
    )
    .await;
    assert!(waiting > 0, "the pause came too late to hold any job back");

    herald_ok(&db, &["queues", "resume", "default", "--actor", "oncall"]).await;
    let resumed_at = now(&db.pool).await;
    eventually(
        "both hosts to claim again",
        Duration::from_secs(60),
        || async { (workers_started_after(&db.pool, resumed_at).await.len() == 2).then_some(()) },
    )
    .await;
    settled(&db.pool, &ids, Duration::from_secs(120)).await;
    assert_eq!(
        scalar(
            &db.pool,
            "SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'"
        )
        .await,
        400
    );
    for worker in &mut workers {
        worker.signal(Signal::SIGTERM);
        worker.wait(Duration::from_secs(30));
    }
    db.finish().await;
}
