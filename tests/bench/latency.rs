//! Enqueue → start latency with one Herald worker (default settings): first one job at a
//! time into an idle worker, then a steady offered load. Start = the audit row's
//! `started_at`; enqueue = the job's `created_at`.

use std::time::{Duration, Instant};

use herald_jobs::enqueue::{NewJob, enqueue};
use sqlx::PgPool;

use crate::BenchResult;
use crate::args::Options;
use crate::db::{BenchDb, Schema, Workers, wait_until_zero};
use crate::herald_side::{self, Noop};
use crate::report::{Latency, Report};

const OFFERED_PER_SEC: u64 = 500;
const IDLE_JOBS: usize = 30;

type Percentiles = (Option<f64>, Option<f64>, Option<f64>, Option<f64>, i64);

async fn percentiles(pool: &PgPool, ids: &[i64]) -> BenchResult<Percentiles> {
    Ok(sqlx::query_as(include_str!("sql/herald_latency.sql"))
        .bind(ids)
        .fetch_one(pool)
        .await?)
}

async fn enqueue_one(pool: &PgPool) -> BenchResult<i64> {
    Ok(enqueue(pool, NewJob::new(&Noop {})?).await?.id)
}

/// Runs the latency measurements.
pub async fn run(server: &str, opts: &Options, report: &mut Report) -> BenchResult<()> {
    report.progress("latency: idle worker, then steady load");
    let db = BenchDb::create(server, Schema::Herald).await?;
    herald_side::create_partitions_ahead(&db.pool).await?;
    let workers = Workers::spawn("herald", 1, &herald_side::worker_env(&db.url, None))?;
    // Wait until the worker is registered and listening.
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM herald.workers")
        .fetch_one(&db.pool)
        .await?
        == 0
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let mut idle = Vec::with_capacity(IDLE_JOBS);
    for _ in 0..IDLE_JOBS {
        idle.push(enqueue_one(&db.pool).await?);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let steady = offer_load(&db.pool, opts.latency_secs()).await?;
    let done = wait_until_zero(
        &db.pool,
        "SELECT count(*) FROM herald.jobs WHERE state IN ('pending', 'running', 'retrying')",
        Duration::from_secs(60),
    )
    .await?;
    workers.stop(Duration::from_secs(10));
    if !done {
        eprintln!("  latency: jobs left unfinished");
    }
    let (p50, _, _, _, _) = percentiles(&db.pool, &idle).await?;
    let (ids, offered) = steady;
    let (s50, s95, s99, max, n) = percentiles(&db.pool, &ids).await?;
    report.push_latency(Latency {
        round: 0,
        idle_jobs: idle.len(),
        idle_median_ms: p50.unwrap_or(f64::NAN),
        offered_rate: offered,
        steady_jobs: usize::try_from(n).unwrap_or(0),
        p50_ms: s50.unwrap_or(f64::NAN),
        p95_ms: s95.unwrap_or(f64::NAN),
        p99_ms: s99.unwrap_or(f64::NAN),
        max_ms: max.unwrap_or(f64::NAN),
    });
    db.drop_now().await
}

/// Enqueues at a steady `OFFERED_PER_SEC` for `secs` (each enqueue its own task, so a
/// slow one does not delay the next); returns the ids and the achieved rate.
async fn offer_load(pool: &PgPool, secs: u64) -> BenchResult<(Vec<i64>, f64)> {
    let total = OFFERED_PER_SEC * secs;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / OFFERED_PER_SEC));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for _ in 0..total {
        tick.tick().await;
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move { enqueue_one(&pool).await }));
    }
    let offered = total as f64 / started.elapsed().as_secs_f64();
    let mut ids = Vec::with_capacity(tasks.len());
    for task in tasks {
        ids.push(task.await??);
    }
    Ok((ids, offered))
}
