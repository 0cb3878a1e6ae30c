//! The baseline: the same no-op jobs through bare apalis-postgres 1.0.

use apalis::prelude::*;
use apalis_postgres::{Config, PostgresStorage};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::BenchResult;

/// The queue the baseline uses (apalis' default is the Rust type name; only the name
/// differs from `Config::default()`).
const QUEUE: &str = "bench";

/// The baseline's no-op job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoopArgs {
    /// A sequence number (apalis payloads are JSON values).
    pub n: u64,
}

fn config(batch: Option<usize>) -> Config {
    let config = Config::default().queue(QUEUE);
    match batch {
        Some(b) => config.batch_size(b),
        None => config,
    }
}

/// Environment of an apalis child: `workers` workers in one process, fetch `batch`
/// (`None` = apalis' default, 10).
pub fn worker_env(url: &str, workers: usize, batch: Option<usize>) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("BENCH_DATABASE_URL", url.to_owned()),
        ("BENCH_WORKERS", workers.to_string()),
    ];
    if let Some(b) = batch {
        env.push(("BENCH_BATCH", b.to_string()));
    }
    env
}

async fn noop(_: NoopArgs) -> Result<(), BoxDynError> {
    Ok(())
}

/// The child role: apalis workers on `PostgresStorage` with default settings (apart
/// from the batch size), until SIGTERM.
pub async fn worker_role() -> BenchResult<()> {
    let var = |k: &str| std::env::var(k).ok();
    let url = var("BENCH_DATABASE_URL").ok_or("BENCH_DATABASE_URL unset")?;
    let workers: usize = var("BENCH_WORKERS")
        .and_then(|w| w.parse().ok())
        .unwrap_or(1);
    let batch: Option<usize> = var("BENCH_BATCH").and_then(|b| b.parse().ok());
    let pool = PgPool::connect(&url).await?;
    for i in 0..workers {
        let storage = PostgresStorage::<NoopArgs>::new(&pool).with_config(config(batch));
        let worker = WorkerBuilder::new(format!("bench-apalis-{}-{i}", std::process::id()))
            .backend(storage)
            .build(noop);
        tokio::spawn(async move {
            if let Err(e) = worker.run().await {
                eprintln!("apalis worker stopped: {e}");
            }
        });
    }
    herald_worker::runtime::shutdown_signal().await;
    Ok(())
}

/// Enqueues `n` jobs one by one (`push`: a round trip each).
pub async fn enqueue_one_by_one(pool: &PgPool, n: usize) -> BenchResult<()> {
    let mut storage = PostgresStorage::<NoopArgs>::new(pool).with_config(config(None));
    for i in 0..n {
        storage.push(NoopArgs { n: i as u64 }).await?;
    }
    Ok(())
}

/// Enqueues `n` jobs in bulk (`push_bulk`).
pub async fn enqueue_bulk(pool: &PgPool, n: usize) -> BenchResult<()> {
    let mut storage = PostgresStorage::<NoopArgs>::new(pool).with_config(config(None));
    storage
        .push_bulk((0..n as u64).map(|n| NoopArgs { n }).collect())
        .await?;
    Ok(())
}

/// Jobs not yet finished.
pub const UNFINISHED: &str =
    "SELECT count(*) FROM apalis.jobs WHERE status NOT IN ('Done', 'Failed', 'Killed')";

/// The drain: (finished, seconds from first to last finish).
pub async fn drain_span(pool: &PgPool) -> BenchResult<(i64, f64)> {
    let (n, secs): (i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*), extract(epoch FROM max(done_at) - min(done_at))::float8 FROM apalis.jobs WHERE status = 'Done'",
    )
    .fetch_one(pool)
    .await?;
    Ok((n, secs.unwrap_or(0.0)))
}
