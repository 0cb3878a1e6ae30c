//! Herald's side: the no-op job, the worker role, and the ways to enqueue.

use std::collections::HashMap;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::{AttemptInfo, Job, JobError};
use herald_worker::{Registry, WorkerConfig, runtime};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::BenchResult;

/// `bench.noop`: does nothing and succeeds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Noop {}

impl Job for Noop {
    const KIND: &'static str = "bench.noop";
    type Context = ();

    async fn perform(self, _: (), _: AttemptInfo) -> Result<(), JobError> {
        Ok(())
    }
}

/// Environment of a Herald worker child: `concurrency` `None` keeps Herald's default.
pub fn worker_env(url: &str, concurrency: Option<usize>) -> Vec<(&'static str, String)> {
    let mut env = vec![("BENCH_DATABASE_URL", url.to_owned())];
    if let Some(c) = concurrency {
        env.push(("BENCH_CONCURRENCY", c.to_string()));
    }
    env
}

/// The child role: `runtime::run_with_pool` with only `bench.noop` registered, until
/// SIGTERM. Everything else is Herald's default configuration.
pub async fn worker_role() -> BenchResult<()> {
    let var = |k: &str| std::env::var(k).ok();
    let index = var("HERALD_BENCH_INDEX").unwrap_or_default();
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert(
        "DATABASE_URL",
        var("BENCH_DATABASE_URL").ok_or("BENCH_DATABASE_URL unset")?,
    );
    env.insert(
        "HERALD_WORKER_ID",
        format!("bench-{index}-{}", std::process::id()),
    );
    if let Some(c) = var("BENCH_CONCURRENCY") {
        env.insert("HERALD_QUEUES", format!("default={c}"));
    }
    let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned())?;
    let pool =
        herald_worker::db::connect(&cfg.database_url, cfg.pool_size, cfg.acquire_timeout).await?;
    let registry = Registry::new().register::<Noop>(());
    runtime::run_with_pool(cfg, registry, pool, runtime::shutdown_signal()).await?;
    Ok(())
}

/// Enqueues `n` jobs one by one through `herald_jobs::enqueue` (a round trip each).
pub async fn enqueue_one_by_one(pool: &PgPool, n: usize) -> BenchResult<()> {
    for _ in 0..n {
        enqueue(pool, NewJob::new(&Noop {})?).await?;
    }
    Ok(())
}

/// Rows per multi-row insert.
pub const BATCH: usize = 1_000;

/// Enqueues `n` jobs through `herald_jobs::enqueue_many`, [`BATCH`] jobs per call (one
/// statement each).
pub async fn enqueue_batched(pool: &PgPool, n: usize) -> BenchResult<()> {
    let mut left = n;
    while left > 0 {
        let take = left.min(BATCH);
        let jobs = (0..take)
            .map(|_| NewJob::new(&Noop {}))
            .collect::<Result<Vec<_>, _>>()?;
        herald_jobs::enqueue_many(pool, jobs).await?;
        left -= take;
    }
    Ok(())
}

/// Enqueues `n` no-op jobs as ONE batch with a no-op completion callback (the workflow
/// pair's batch side): the drain ends when the callback has run.
pub async fn enqueue_one_batch(pool: &PgPool, n: usize) -> BenchResult<()> {
    let members = (0..n)
        .map(|_| NewJob::new(&Noop {}))
        .collect::<Result<Vec<_>, _>>()?;
    let batch = herald_jobs::Batch::new(members).on_complete(NewJob::new(&Noop {})?);
    herald_jobs::enqueue_batch(pool, batch).await?;
    Ok(())
}

/// Enqueues `n` jobs with ONE SQL statement: `herald.enqueue(...)` over
/// `generate_series` when that function exists (issue 5), else a plain
/// `INSERT ... SELECT`. Returns which one ran.
pub async fn enqueue_sql(pool: &PgPool, n: usize) -> BenchResult<&'static str> {
    let has_function: bool = sqlx::query_scalar("SELECT to_regproc('herald.enqueue') IS NOT NULL")
        .fetch_one(pool)
        .await?;
    let (label, sql) = if has_function {
        (
            "herald.enqueue() over generate_series",
            "SELECT herald.enqueue('bench.noop', '{}'::jsonb) FROM generate_series(1, $1)",
        )
    } else {
        (
            "INSERT ... SELECT generate_series (herald.enqueue() not in this build)",
            "INSERT INTO herald.jobs (job_type, payload) SELECT 'bench.noop', '{}' FROM generate_series(1, $1)",
        )
    };
    sqlx::query(sql)
        .bind(i32::try_from(n)?)
        .execute(pool)
        .await?;
    Ok(label)
}

/// Registers `bench.noop` in `herald.job_types` (what a worker would do at start-up), so
/// SQL-side enqueue can validate against it.
pub async fn register_job_type(pool: &PgPool) -> BenchResult<()> {
    sqlx::query(
        "INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('bench.noop', 'default', 5) ON CONFLICT DO NOTHING",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Creates the audit partitions a running deployment's maintenance leader would already
/// have (the default size, 1,000,000 job ids; three of them: job ids below 3,000,001,
/// past every scenario's history and drain, with two ahead of the first), so that a
/// worker started on a fresh bench database does not create them, or move the history's
/// audit rows out of the DEFAULT partition, while its drain is being timed. A deployment
/// makes them once per million jobs; a fresh database only at its first start.
pub async fn create_partitions_ahead(pool: &PgPool) -> BenchResult<()> {
    sqlx::query(
        "SELECT herald.create_attempt_partition(lower, lower + 1000000) \
         FROM generate_series(1, 2000001, 1000000) AS lower",
    )
    .execute(pool)
    .await?;
    Ok(())
}

/// Leaves `jobs` finished jobs and `attempts` audit rows behind, then VACUUM ANALYZE (as
/// autovacuum would have by then).
pub async fn generate_history(pool: &PgPool, jobs: i64, attempts: i64) -> BenchResult<()> {
    sqlx::query(include_str!("sql/herald_history.sql"))
        .bind(jobs)
        .bind(attempts)
        .execute(pool)
        .await?;
    sqlx::raw_sql("VACUUM ANALYZE herald.jobs, herald.attempts")
        .execute(pool)
        .await?;
    Ok(())
}

/// The drain of jobs with id >= `first_id`: (finished, seconds from first to last finish).
pub async fn drain_span(pool: &PgPool, first_id: i64) -> BenchResult<(i64, f64)> {
    let (n, first, last): (
        i64,
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = sqlx::query_as(include_str!("sql/herald_drain_rate.sql"))
        .bind(first_id)
        .fetch_one(pool)
        .await?;
    let secs = match (first, last) {
        (Some(a), Some(b)) => (b - a).num_microseconds().unwrap_or(0) as f64 / 1e6,
        _ => 0.0,
    };
    Ok((n, secs))
}
