//! Herald's integration tests: real PostgreSQL, real worker processes, real HTTP.
//!
//! Every test makes its own database ([`herald_tests::db::TestDb`]) and ends with
//! `db.finish()`, which asserts that every finished attempt has exactly one audit row.

mod ack_durability;
mod alert;
mod batch;
mod browser;
mod cancel;
mod cli;
mod console;
mod cron;
mod demo;
mod deploy;
mod email;
mod enqueue;
mod enqueue_property;
mod enqueue_rules;
mod failures;
mod finisher;
mod hosts;
mod injection;
mod limits;
mod logging;
mod metrics;
mod operator;
mod operator_cli;
mod outage;
mod partitions;
mod pause;
mod poison;
mod privilege;
mod process;
mod prometheus;
mod queues;
mod ranges;
mod rescue;
mod retention;
mod retry;
mod scale_out;
mod sentry;
mod shutdown;
mod sql_enqueue;
mod storage;
mod storm;
mod testkit;
mod tls;
mod traces;
mod webhook;
mod workflows;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::jobs::{ScriptedJob, Step};
use sqlx::PgPool;

/// Enqueues a `test.scripted` job with `max_attempts`; returns its id.
pub async fn enqueue_scripted(
    pool: &PgPool,
    key: &str,
    steps: Vec<Step>,
    max_attempts: u32,
) -> i64 {
    let job = NewJob::new(&ScriptedJob::new(key, steps))
        .unwrap_or_else(|e| panic!("build job: {e}"))
        .max_attempts(max_attempts);
    enqueue(pool, job)
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"))
        .id
}

/// How many `event` effects job `id` recorded.
pub async fn effects(pool: &PgPool, id: i64, event: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM public.test_effects WHERE job_id = $1 AND event = $2")
        .bind(id)
        .bind(event)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("effects: {e}"))
}
