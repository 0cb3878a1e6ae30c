//! The delivery benchmark (`harness = false`): real webhooks and e-mails end to end,
//! Herald against Celery 5 + Redis, in one run.
//!
//! ```sh
//! cargo build --release -p herald --bin herald
//! cargo bench -p herald-tests --bench delivery -- [--n 2000] [--delay-ms 20] [--only herald|celery]
//! ```
//!
//! One webhook receiver (answers 200 after `--delay-ms`) and one SMTP sink serve every
//! measurement. Per measurement: N `notify.webhook` or `notify.email` jobs are enqueued
//! (Herald: `enqueue_many`, 500 per call, into a fresh database, to a running release
//! `herald worker` process; Celery: `apply_async` one by one, to running Celery
//! workers), each stamped with its enqueue time; the endpoint stamps its receipt.
//! Reported: deliveries/s = N / (last receipt - first receipt), p50/p99 of receipt -
//! enqueue, and the worker process's CPU seconds per 1,000 deliveries (utime + stime
//! from /proc/<pid>/stat, all Celery worker processes and pool children). BENCHMARKS.md,
//! *Delivery*, explains the method and gives the figures.
//!
//! # Layout
//! - `receiver.rs`: the webhook receiver and SMTP sink
//! - `sides.rs`: one measurement through Herald or through Celery

mod receiver;
mod sides;

use std::process::ExitCode;
use std::time::Duration;

use sides::{CeleryConfig, Measured};

/// Errors end the benchmark with a message.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

struct Options {
    n: usize,
    delay_ms: u64,
    only: Option<String>,
}

fn options() -> Result<Options, String> {
    let mut opts = Options {
        n: 2_000,
        delay_ms: 20,
        only: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--n" => opts.n = value("--n")?.parse().map_err(|e| format!("--n: {e}"))?,
            "--delay-ms" => {
                opts.delay_ms = value("--delay-ms")?
                    .parse()
                    .map_err(|e| format!("--delay-ms: {e}"))?
            }
            "--only" => opts.only = Some(value("--only")?),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(opts)
}

/// Settings a Herald variant adds to the defaults.
type Settings = &'static [(&'static str, &'static str)];

/// Herald's variants: its defaults, and each delivery-path change undone.
const HERALD_VARIANTS: [(&str, &str, Settings); 5] = [
    (
        "webhook",
        "Herald defaults (keep-alive pool, concurrency 100)",
        &[],
    ),
    (
        "webhook",
        "Herald, no connection reuse (POOL_MAX_IDLE_PER_HOST=0)",
        &[("HERALD_WEBHOOK_POOL_MAX_IDLE_PER_HOST", "0")],
    ),
    (
        "email",
        "Herald defaults (SMTP pool of 100, concurrency 100)",
        &[],
    ),
    (
        "email",
        "Herald, lettre's default pool size (SMTP_POOL_MAX_IDLE=10)",
        &[("HERALD_SMTP_POOL_MAX_IDLE", "10")],
    ),
    (
        "email",
        "Herald, one connection per message (SMTP_POOL_MAX_IDLE=0, as before)",
        &[("HERALD_SMTP_POOL_MAX_IDLE", "0")],
    ),
];

const fn celery(
    label: &'static str,
    pool: &'static str,
    concurrency: usize,
    processes: usize,
    smtp: &'static str,
) -> CeleryConfig {
    CeleryConfig {
        label,
        pool,
        concurrency,
        processes,
        smtp,
    }
}

/// Celery's configurations tried on this machine (2 cores).
const CELERY_VARIANTS: [(&str, CeleryConfig); 11] = [
    (
        "webhook",
        celery(
            "Celery prefork c16, Session per process",
            "prefork",
            16,
            1,
            "",
        ),
    ),
    (
        "webhook",
        celery(
            "Celery threads c64, Session per process",
            "threads",
            64,
            1,
            "",
        ),
    ),
    (
        "webhook",
        celery(
            "Celery 2 x threads c32, Session per process",
            "threads",
            32,
            2,
            "",
        ),
    ),
    (
        "webhook",
        celery(
            "Celery gevent c100, Session per process",
            "gevent",
            100,
            1,
            "",
        ),
    ),
    (
        "webhook",
        celery(
            "Celery 2 x gevent c100, Session per process",
            "gevent",
            100,
            2,
            "",
        ),
    ),
    (
        "email",
        celery(
            "Celery prefork c16, smtplib per task",
            "prefork",
            16,
            1,
            "per-task",
        ),
    ),
    (
        "email",
        celery(
            "Celery prefork c16, smtplib reused per process",
            "prefork",
            16,
            1,
            "reuse",
        ),
    ),
    (
        "email",
        celery(
            "Celery threads c64, smtplib reused per thread",
            "threads",
            64,
            1,
            "reuse",
        ),
    ),
    (
        "email",
        celery(
            "Celery 2 x threads c32, smtplib reused per thread",
            "threads",
            32,
            2,
            "reuse",
        ),
    ),
    (
        "email",
        celery(
            "Celery gevent c100, smtplib reused per greenlet",
            "gevent",
            100,
            1,
            "reuse",
        ),
    ),
    (
        "email",
        celery(
            "Celery 2 x gevent c100, smtplib reused per greenlet",
            "gevent",
            100,
            2,
            "reuse",
        ),
    ),
];

struct Row {
    kind: &'static str,
    label: String,
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_per_1000: f64,
}

fn row(
    kind: &'static str,
    label: &str,
    n: usize,
    m: &Measured,
    endpoints: &receiver::Endpoints,
) -> Row {
    let deliveries = endpoints.deliveries(kind, m.from);
    let mut latencies: Vec<f64> = deliveries
        .iter()
        .map(|d| (d.received_us - d.enqueued_us) as f64 / 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    let first = deliveries.iter().map(|d| d.received_us).min().unwrap_or(0);
    let last = deliveries.iter().map(|d| d.received_us).max().unwrap_or(0);
    Row {
        kind,
        label: label.to_owned(),
        rate: n as f64 / ((last - first) as f64 / 1e6).max(1e-9),
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_per_1000: m.cpu_secs / n as f64 * 1000.0,
    }
}

async fn run(opts: &Options) -> BenchResult<Vec<Row>> {
    let endpoints = receiver::Endpoints::start(Duration::from_millis(opts.delay_ms)).await?;
    let server = tokio::task::spawn_blocking(herald_tests::db::server_url).await?;
    let mut rows = Vec::new();
    let wants = |side: &str| opts.only.as_deref().is_none_or(|o| o == side);
    if wants("herald") {
        for (kind, label, extra) in HERALD_VARIANTS {
            eprintln!("delivery: {label} ({kind})");
            let name = format!("herald_delivery_{:012x}", rand::random::<u64>() >> 16);
            let admin = sqlx::PgPool::connect(&server).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&admin)
                .await?;
            let url = herald_tests::db::with_database(&server, &name);
            let measured = sides::herald(&url, &endpoints, kind, opts.n, extra).await;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .execute(&admin)
            .await?;
            admin.close().await;
            rows.push(row(kind, label, opts.n, &measured?, &endpoints));
        }
    }
    if wants("celery") {
        for (kind, config) in CELERY_VARIANTS {
            eprintln!("delivery: {} ({kind})", config.label);
            let measured = sides::celery(&endpoints, kind, opts.n, config).await?;
            rows.push(row(kind, config.label, opts.n, &measured, &endpoints));
        }
    }
    Ok(rows)
}

fn print(opts: &Options, rows: &[Row]) {
    let mut out = format!(
        "\n{} deliveries per measurement; webhook receiver answers after {} ms\n\n| kind | system and configuration | deliveries/s | p50 ms | p99 ms | worker CPU s / 1,000 |\n|---|---|---:|---:|---:|---:|\n",
        opts.n, opts.delay_ms
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {:.0} | {:.1} | {:.1} | {:.3} |\n",
            r.kind, r.label, r.rate, r.p50_ms, r.p99_ms, r.cpu_per_1000
        ));
    }
    for kind in ["webhook", "email"] {
        let best = |herald: bool| {
            rows.iter()
                .filter(|r| r.kind == kind && r.label.starts_with("Herald defaults") == herald)
                .filter(|r| herald || r.label.starts_with("Celery"))
                .map(|r| r.rate)
                .fold(f64::NAN, f64::max)
        };
        out.push_str(&format!(
            "\n{kind}: Herald defaults / Celery's best = {:.1}x",
            best(true) / best(false)
        ));
    }
    #[expect(clippy::print_stdout, reason = "the benchmark's report is its output")]
    {
        println!("{out}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let opts = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("delivery: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts).await {
        Ok(rows) => {
            print(&opts, &rows);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("delivery: {e}");
            ExitCode::FAILURE
        }
    }
}
