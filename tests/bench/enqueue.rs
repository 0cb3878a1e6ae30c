//! Enqueue rates: one by one, batched, and in one SQL statement; then apalis-postgres'.

use std::future::Future;
use std::time::Instant;

use crate::args::Options;
use crate::db::{BenchDb, Schema};
use crate::report::{EnqueueRow, Report};
use crate::{BenchResult, apalis_side, herald_side};

async fn timed<T>(f: impl Future<Output = BenchResult<T>>) -> BenchResult<(T, f64)> {
    let started = Instant::now();
    let value = f.await?;
    Ok((value, started.elapsed().as_secs_f64()))
}

fn row(system: &'static str, method: impl Into<String>, jobs: usize, secs: f64) -> EnqueueRow {
    EnqueueRow {
        round: 0,
        system,
        method: method.into(),
        jobs,
        secs,
        rate: jobs as f64 / secs.max(1e-9),
    }
}

/// Measures every enqueue path, each into an empty table with no worker running.
pub async fn run(server: &str, opts: &Options, report: &mut Report) -> BenchResult<()> {
    let (one, n) = (opts.one_by_one(), opts.jobs);
    report.progress("enqueue: herald");
    let db = BenchDb::create(server, Schema::Herald).await?;
    herald_side::register_job_type(&db.pool).await?;
    let ((), secs) = timed(herald_side::enqueue_one_by_one(&db.pool, one)).await?;
    report.push_enqueue(row("herald", "one by one (enqueue)", one, secs));
    let ((), secs) = timed(herald_side::enqueue_batched(&db.pool, n)).await?;
    let method = format!(
        "batched (enqueue_many), {} jobs per call",
        herald_side::BATCH
    );
    report.push_enqueue(row("herald", method, n, secs));
    let (label, secs) = timed(herald_side::enqueue_sql(&db.pool, n)).await?;
    report.push_enqueue(row("herald", format!("SQL: {label}"), n, secs));
    db.drop_now().await?;

    report.progress("enqueue: apalis-postgres");
    let db = BenchDb::create(server, Schema::Apalis).await?;
    let ((), secs) = timed(apalis_side::enqueue_one_by_one(&db.pool, one)).await?;
    report.push_enqueue(row("apalis-postgres", "one by one (push)", one, secs));
    let ((), secs) = timed(apalis_side::enqueue_bulk(&db.pool, n)).await?;
    report.push_enqueue(row("apalis-postgres", "bulk (push_bulk)", n, secs));
    db.drop_now().await
}
