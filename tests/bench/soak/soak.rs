//! The soak: workers with a short retention, a steady offered load, one sample a minute.
//!
//! Minute `k` is the window `[t0 + (k-1) min, t0 + k min)` of the database's clock, `t0`
//! when the producer starts; it is sampled 5 s after its end, so every audit row of it
//! is committed and none is yet old enough to prune (`--retention` ≥ 90 s).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use herald_worker::runtime;
use serde::Serialize;
use sqlx::PgPool;

use crate::BenchResult;
use crate::args::Options;
use crate::db::{BenchDb, Schema, Workers};
use crate::job;
use crate::producer::Producer;
use crate::report;
use crate::storage::{Storage, resident_kib};

/// How long after a minute ends it is sampled.
const SETTLE: Duration = Duration::from_secs(5);
/// A sample that takes longer means the database is gone.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long workers get to register, and to stop after SIGTERM.
const WORKER_GRACE: Duration = Duration::from_secs(30);

/// One minute of the soak.
#[derive(Debug, Clone, Serialize)]
pub struct Minute {
    /// 1-based.
    pub minute: u32,
    /// Jobs that finished for good (succeeded or dead) in the minute, per second.
    pub completed_per_sec: f64,
    /// First attempts started in the minute (the latency's sample).
    pub started: i64,
    /// Their median enqueue → start, ms.
    pub p50_ms: Option<f64>,
    /// Their 99th percentile enqueue → start, ms.
    pub p99_ms: Option<f64>,
    /// Herald's tables with indexes, bytes, at the sample.
    pub storage_bytes: i64,
    /// Their dead tuples, at the sample.
    pub dead_tuples: i64,
    /// Pruning runs completed so far.
    pub prune_runs: i64,
    /// Jobs those runs removed so far.
    pub jobs_pruned: i64,
    /// Each worker process's resident memory, KiB.
    pub worker_rss_kib: Vec<Option<u64>>,
    /// Jobs the producer enqueued per second since the previous sample.
    pub offered_per_sec: f64,
}

impl Minute {
    /// All workers' resident memory, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.worker_rss_kib.iter().flatten().sum()
    }
}

/// The workers' environment: the database, and retention short enough to prune in the
/// run (succeeded = `--retention`, the rest twice it, a run every 30 s).
fn worker_env(url: &str, opts: &Options) -> Vec<(&'static str, String)> {
    let (short, long) = (opts.retention.as_secs(), 2 * opts.retention.as_secs());
    vec![
        ("BENCH_DATABASE_URL", url.to_owned()),
        ("HERALD_RETENTION_SUCCEEDED", format!("{short}s")),
        ("HERALD_RETENTION_DEAD", format!("{long}s")),
        ("HERALD_RETENTION_CANCELLED", format!("{long}s")),
        ("HERALD_RETENTION_FAILED_ATTEMPTS", format!("{long}s")),
        ("HERALD_MAINTENANCE_INTERVAL", "30s".to_owned()),
    ]
}

/// Runs the soak on a fresh database and drops it, whatever happened.
pub async fn run(server: &str, opts: &Options) -> BenchResult<Vec<Minute>> {
    let db = BenchDb::create(server, Schema::Herald).await?;
    let outcome = match Workers::spawn(job::ROLE, opts.workers, &worker_env(&db.url, opts)) {
        Ok(workers) => {
            let outcome = drive(&db.pool, &workers, opts).await;
            report::progress("stopping the workers (SIGTERM)");
            tokio::task::spawn_blocking(move || workers.stop(WORKER_GRACE)).await?;
            outcome
        }
        Err(e) => Err(e),
    };
    report::progress("dropping the database");
    match tokio::time::timeout(SAMPLE_TIMEOUT, db.drop_now()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("soak: could not drop the bench database: {e}"),
        Err(_) => eprintln!("soak: dropping the bench database took over 30 s; left behind"),
    }
    outcome
}

/// Waits until `n` workers are registered.
pub async fn wait_for_workers(pool: &PgPool, n: usize) -> BenchResult<()> {
    let deadline = Instant::now() + WORKER_GRACE;
    loop {
        let up: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.workers")
            .fetch_one(pool)
            .await?;
        if up >= n as i64 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("only {up} of {n} workers registered within 30 s").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn drive(pool: &PgPool, workers: &Workers, opts: &Options) -> BenchResult<Vec<Minute>> {
    wait_for_workers(pool, opts.workers).await?;
    report::progress(&format!(
        "{} workers up; offering {} jobs/s for {} minutes",
        opts.workers, opts.rate, opts.minutes
    ));
    let t0_db: DateTime<Utc> = sqlx::query_scalar("SELECT clock_timestamp()")
        .fetch_one(pool)
        .await?;
    let t0 = Instant::now();
    let producer = Producer::start(pool.clone(), opts);
    let interrupted = runtime::shutdown_signal();
    tokio::pin!(interrupted);
    report::header(opts.workers);
    let mut rows: Vec<Minute> = Vec::with_capacity(opts.minutes as usize);
    let (mut sent_before, mut sampled_before) = (0, t0);
    for minute in 1..=opts.minutes {
        let due = t0 + Duration::from_secs(60 * u64::from(minute)) + SETTLE;
        tokio::select! {
            _ = tokio::time::sleep_until(due.into()) => {}
            _ = &mut interrupted => {
                report::progress(&format!("interrupted after {} minutes", rows.len()));
                break;
            }
        }
        if producer.has_failed() {
            producer.stop().await?;
            return Err("the producer stopped".into());
        }
        let (sent, now) = (producer.sent(), Instant::now());
        let offered = (sent - sent_before) as f64 / (now - sampled_before).as_secs_f64();
        (sent_before, sampled_before) = (sent, now);
        let window = (
            t0_db + Duration::from_secs(60 * u64::from(minute - 1)),
            t0_db + Duration::from_secs(60 * u64::from(minute)),
        );
        let row = tokio::time::timeout(
            SAMPLE_TIMEOUT,
            sample(pool, minute, window, &workers.pids(), offered),
        )
        .await
        .map_err(|_| "a sample took over 30 s: is the database reachable?")??;
        report::minute(&row);
        rows.push(row);
    }
    producer.stop().await?;
    Ok(rows)
}

async fn sample(
    pool: &PgPool,
    minute: u32,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    pids: &[u32],
    offered_per_sec: f64,
) -> BenchResult<Minute> {
    let completed: i64 = sqlx::query_scalar(include_str!("sql/minute_completed.sql"))
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await?;
    let (p50_ms, p99_ms, started): (Option<f64>, Option<f64>, i64) =
        sqlx::query_as(include_str!("sql/minute_latency.sql"))
            .bind(from)
            .bind(to)
            .fetch_one(pool)
            .await?;
    let storage = Storage::read(pool).await?;
    let (prune_runs, jobs_pruned): (i64, i64) = sqlx::query_as(include_str!("sql/prune_runs.sql"))
        .fetch_one(pool)
        .await?;
    Ok(Minute {
        minute,
        completed_per_sec: completed as f64 / 60.0,
        started,
        p50_ms,
        p99_ms,
        storage_bytes: storage.bytes(),
        dead_tuples: storage.dead_tuples(),
        prune_runs,
        jobs_pruned,
        worker_rss_kib: pids.iter().map(|p| resident_kib(*p)).collect(),
        offered_per_sec,
    })
}
