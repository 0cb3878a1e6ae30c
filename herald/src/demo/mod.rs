//! `herald demo`: Herald's main job, end to end, with no configuration.
//!
//! 1. Uses `DATABASE_URL` if set; otherwise starts (or reuses) a private PostgreSQL in
//!    `$HERALD_HOME/demo` (default `/var/tmp/herald/demo`) on 127.0.0.1:54329 and
//!    recreates its `herald_demo` database, so the audit table holds this run only.
//! 2. Starts a local webhook receiver whose endpoints succeed, fail transiently, rate
//!    limit, and fail permanently (`herald_testkit::receiver`), and a local SMTP sink that accepts,
//!    answers 451 once, or answers 550 by recipient (`herald_testkit::smtp_sink`).
//! 3. Enqueues `--jobs` `notify.webhook` jobs in one transaction, in a fixed mix, and
//!    shows a payload rejected at enqueue; then `--emails` `notify.email` jobs
//!    (`emails.rs`).
//! 4. Runs the worker in-process (short backoff) until every job is settled; its mix
//!    trips the failure-rate alert, which then resolves once no attempt fails for the
//!    demo's 10 s window (`alert.rs`).
//! 5. Prints a summary read back from the tables (`summary.rs`), the alert's
//!    transitions, and where to look next.
//! 6. Serves the web console on the demo's database from the start (`console.rs`),
//!    printing its URL and a login generated for this run; it stops with the demo, or,
//!    when stdin is a terminal or with `--keep-console`, after Ctrl-C.
//!
//! With `OTEL_EXPORTER_OTLP_ENDPOINT` set, the enqueue and every attempt are exported as
//! one trace; with `--metrics-addr` the worker serves `/metrics` while the demo runs.
//!
//! The private PostgreSQL stays up afterwards; the summary prints how to stop it.

use std::io::Write;
use std::time::{Duration, Instant};

use clap::Args;
use herald_jobs::enqueue::NewJob;
use herald_jobs::notify::WebhookJob;
use herald_jobs::{Batch, enqueue_batch_in};
use sqlx::PgPool;
use tokio::sync::oneshot;
use tracing::Instrument;

use herald_testkit::private_pg::{PrivatePgError, PrivatePostgres, default_home};
use herald_worker::config::WorkerConfig;

mod alert;
mod console;
pub mod emails;
pub mod summary;

use herald_testkit::receiver::{Receiver, SCENARIOS};

/// The private instance's port.
pub const DEMO_PORT: u16 = 54329;
/// The private instance's database.
pub const DEMO_DATABASE: &str = "herald_demo";
/// The demo's webhook signing key, in the Standard Webhooks form.
pub const DEMO_SIGNING_KEY: &str = "whsec_aGVyYWxkLWRlbW8tc2lnbmluZy1rZXkh";
/// Jobs per scenario in every 20 jobs: ok, flaky, slow-down, gone, invalid, down.
pub const MIX: [usize; 6] = [14, 2, 1, 1, 1, 1];

/// Arguments of `herald demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How many notification jobs to enqueue.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub jobs: u32,
    /// Give up if the jobs have not settled after this many seconds.
    #[arg(long, default_value_t = 90)]
    pub timeout_secs: u64,
    /// Serve the worker's Prometheus metrics on http://<ADDR>/metrics while it runs.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// How many e-mail jobs to enqueue (sent to a local SMTP sink).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub emails: u32,
    /// Where the demo's web console listens (port 0: any free port; the URL is printed).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub console_addr: std::net::SocketAddr,
    /// Keep the console serving after the demo until Ctrl-C (the default when stdin is
    /// a terminal).
    #[arg(long)]
    pub keep_console: bool,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The private PostgreSQL could not be started.
    #[error("cannot start a private PostgreSQL: {0}")]
    Postgres(#[from] PrivatePgError),
    /// A database operation failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Output could not be written.
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
    /// Anything else, described.
    #[error("{0}")]
    Other(String),
}

/// Runs the demo on `database_url` (or a private PostgreSQL when `None`), writing its
/// report to `out` (`herald demo`; the command turns a [`DemoError`] into its exit status).
pub async fn run(
    args: DemoArgs,
    database_url: Option<String>,
    out: &mut (impl Write + Send),
) -> Result<(), DemoError> {
    writeln!(
        out,
        "Herald demo: notification jobs through a real queue, worker and audit trail\n"
    )?;
    let (database_url, private) = database(database_url, out).await?;
    let pool = herald_worker::db::connect(&database_url, 4, Duration::from_secs(10)).await?;
    herald_worker::db::migrate(&pool)
        .await
        .map_err(|e| DemoError::Other(format!("cannot apply migrations: {e}")))?;

    let console = console::start(&pool, args.console_addr).await?;
    console.print(out)?;
    let receiver = Receiver::start(DEMO_SIGNING_KEY).await?;
    writeln!(out, "  webhook receiver: {}", receiver.base_url())?;
    let sink = herald_testkit::smtp_sink::SmtpSink::start().await?;
    writeln!(out, "  SMTP sink: {}:{}", sink.host(), sink.port())?;
    let enqueue_span = tracing::info_span!(target: "herald::trace", "demo enqueue");
    let (mut ids, campaign) = enqueue_mix(&pool, &receiver, args.jobs as usize, out)
        .instrument(enqueue_span)
        .await?;
    let email_ids = emails::enqueue(&pool, args.emails as usize, out).await?;
    ids.extend(&email_ids);

    let started = Instant::now();
    let (stop, stopped) = oneshot::channel::<()>();
    let mut cfg = worker_config(&database_url, sink.port())?;
    cfg.metrics_addr = args.metrics_addr;
    let window = cfg.failure_rate.window;
    let registry = herald_worker::runtime::default_registry(&cfg)
        .map_err(|e| DemoError::Other(e.to_string()))?;
    let worker = tokio::spawn(herald_worker::runtime::run_with_pool(
        cfg,
        registry,
        pool.clone(),
        async {
            let _ = stopped.await;
        },
    ));
    writeln!(
        out,
        "  worker: running (concurrency 16, retry backoff 200 ms doubling, capped at 2 s)"
    )?;
    let settled = wait_until_settled(&pool, &ids, Duration::from_secs(args.timeout_secs)).await;
    if settled.is_ok() {
        writeln!(
            out,
            "  jobs settled; waiting up to {} s for the failure-rate alert to resolve",
            window.as_secs() + 20
        )?;
        alert::wait_for_resolve(&pool, window).await?;
    }
    let _ = stop.send(());
    worker
        .await
        .map_err(|e| DemoError::Other(format!("worker task failed: {e}")))?
        .map_err(|e| DemoError::Other(e.to_string()))?;
    settled?;
    writeln!(
        out,
        "  all {} jobs settled in {:.1} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    )?;
    let received: u64 = receiver.received().values().sum();
    emails::print_channels(&pool, &ids, received, &sink, out).await?;

    let summary = summary::Summary::load(&pool, &ids).await?;
    summary.print(out)?;
    summary::print_campaign(&pool, campaign, out).await?;
    alert::print(&pool, out).await?;
    print_examples(&pool, &ids, out).await?;
    for (index, title) in [
        (3, "e-mail answered 451: retried, then delivered"),
        (9, "e-mail answered 550 5.1.1: terminal at once"),
    ] {
        if let Some(id) = email_ids.get(index) {
            summary::print_trail(&pool, *id, title, out).await?;
        }
    }
    print_next_steps(&database_url, private.as_ref(), out)?;
    console.print(out)?;
    console.finish(args.keep_console, out).await?;
    Ok(())
}

/// `DATABASE_URL` when given, else a fresh database in the private PostgreSQL.
async fn database(
    database_url: Option<String>,
    out: &mut impl Write,
) -> Result<(String, Option<PrivatePostgres>), DemoError> {
    if let Some(url) = database_url {
        writeln!(
            out,
            "  database: {} (from DATABASE_URL)",
            herald_worker::sanitize::redact(&url)
        )?;
        return Ok((url, None));
    }
    let pg = tokio::task::spawn_blocking(|| -> Result<PrivatePostgres, PrivatePgError> {
        let pg = PrivatePostgres::new(default_home().join("demo"), DEMO_PORT)?;
        pg.ensure_running()?;
        Ok(pg)
    })
    .await
    .map_err(|e| DemoError::Other(format!("private PostgreSQL set-up failed: {e}")))??;
    let admin = herald_worker::db::connect(&pg.url("postgres"), 1, Duration::from_secs(10)).await?;
    sqlx::query_file!("queries/demo/drop_database.sql")
        .execute(&admin)
        .await?;
    sqlx::query_file!("queries/demo/create_database.sql")
        .execute(&admin)
        .await?;
    admin.close().await;
    let url = pg.url(DEMO_DATABASE);
    writeln!(
        out,
        "  database: {url} (private PostgreSQL in {}, fresh database)",
        pg.data_dir().display()
    )?;
    Ok((url, Some(pg)))
}

fn worker_config(database_url: &str, smtp_port: u16) -> Result<WorkerConfig, DemoError> {
    let env = |name: &str| match name {
        email if email.starts_with("HERALD_SMTP_") || email.starts_with("HERALD_EMAIL_") => {
            emails::worker_env(email, smtp_port)
        }
        "DATABASE_URL" => Some(database_url.to_owned()),
        "HERALD_WORKER_ID" => Some(format!("demo-worker-{}", std::process::id())),
        "HERALD_WEBHOOK_SIGNING_KEYS" => Some(DEMO_SIGNING_KEY.to_owned()),
        "HERALD_QUEUES" => Some("default=16".to_owned()),
        "HERALD_SHUTDOWN_GRACE" => Some("5s".to_owned()),
        "HERALD_LEASE" => Some("10s".to_owned()),
        "HERALD_POLL_INTERVAL" => Some("1s".to_owned()),
        "HERALD_RETRY_BASE" => Some("200ms".to_owned()),
        "HERALD_RETRY_MAX" => Some("2s".to_owned()),
        "HERALD_FAILURE_RATE_WINDOW" => Some(alert::WINDOW.to_owned()),
        _ => None,
    };
    WorkerConfig::from_lookup(env).map_err(|e| DemoError::Other(format!("demo configuration: {e}")))
}

async fn enqueue_mix(
    pool: &PgPool,
    receiver: &Receiver,
    count: usize,
    out: &mut impl Write,
) -> Result<(Vec<i64>, i64), DemoError> {
    let plan: Vec<&str> = SCENARIOS
        .iter()
        .zip(MIX)
        .flat_map(|(s, n)| std::iter::repeat_n(*s, n))
        .collect();
    let mut members = Vec::with_capacity(count);
    for n in 0..count {
        let scenario = plan[n % plan.len()];
        let job = WebhookJob {
            url: receiver.url(scenario),
            body: serde_json::json!({ "event": "order.shipped", "order": n, "scenario": scenario }),
        };
        let budget = if scenario == "down" { 3 } else { 5 };
        members.push(
            NewJob::new(&job)
                .map_err(|e| DemoError::Other(e.to_string()))?
                .max_attempts(budget)
                .with_current_trace(),
        );
    }
    // The campaign is one batch: the fan-out, plus a summary webhook released once every
    // member has settled (the batch's `complete` event), exactly once.
    let summary = WebhookJob {
        url: receiver.url("ok"),
        body: serde_json::json!({ "event": "campaign.summary", "campaign": "demo", "members": count }),
    };
    let summary = NewJob::new(&summary)
        .map_err(|e| DemoError::Other(e.to_string()))?
        .with_current_trace();
    let batch = Batch::new(members)
        .on_complete(summary)
        .description("demo notification campaign");
    let mut tx = pool.begin().await?;
    let enqueued = enqueue_batch_in(&mut tx, batch)
        .await
        .map_err(|e| DemoError::Other(e.to_string()))?;
    tx.commit().await?;
    writeln!(
        out,
        "  enqueued {count} notify.webhook jobs in one transaction as campaign batch {} (per 20: 14 ok, 2 flaky, 1 rate-limited, 1 gone, 1 invalid, 1 down), with a summary webhook (job {}) released once they have all settled",
        enqueued.id,
        enqueued.callbacks.first().copied().unwrap_or_default()
    )?;
    let bad = WebhookJob {
        url: "ftp://files.example.com/hook".to_owned(),
        body: serde_json::json!({}),
    };
    if let Err(e) = NewJob::new(&bad) {
        writeln!(out, "  rejected at enqueue, never queued: {e}")?;
    }
    let mut ids = enqueued.members;
    ids.extend(enqueued.callbacks);
    Ok((ids, enqueued.id))
}

async fn wait_until_settled(
    pool: &PgPool,
    ids: &[i64],
    timeout: Duration,
) -> Result<(), DemoError> {
    let deadline = Instant::now() + timeout;
    loop {
        let open: i64 = sqlx::query_file_scalar!("queries/demo/unsettled.sql", ids)
            .fetch_one(pool)
            .await?;
        if open == 0 {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(DemoError::Other(format!(
                "{open} jobs still unsettled after {} s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn print_examples(pool: &PgPool, ids: &[i64], out: &mut impl Write) -> Result<(), DemoError> {
    let per_cycle = MIX.iter().sum::<usize>();
    let example = |scenario_index: usize| -> Option<i64> {
        let offset: usize = MIX[..scenario_index].iter().sum();
        (offset < ids.len() && ids.len() >= per_cycle.min(ids.len())).then(|| ids[offset])
    };
    for (index, title) in [
        (1, "flaky endpoint: retried, then delivered"),
        (2, "rate limited: waited for Retry-After"),
        (3, "gone: terminal at once"),
        (5, "down: retried until its budget ran out"),
    ] {
        if let Some(id) = example(index) {
            summary::print_trail(pool, id, title, out).await?;
        }
    }
    Ok(())
}

fn print_next_steps(
    url: &str,
    private: Option<&PrivatePostgres>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    writeln!(out, "\nLook further")?;
    writeln!(
        out,
        "  export DATABASE_URL='{}'",
        herald_worker::sanitize::redact(url)
    )?;
    writeln!(
        out,
        "  psql \"$DATABASE_URL\" -c 'SELECT job_id, attempt, outcome, error_code, error_class, message FROM herald.attempts ORDER BY id LIMIT 20'"
    )?;
    for command in [
        "failures --since 1h",
        "jobs list --state dead",
        "jobs show 20",
        "replay --state dead --type notify.webhook --dry-run",
        "stats --window 5m",
        "retention",
    ] {
        writeln!(out, "  cargo run --release --bin herald -- {command}")?;
    }
    if let Some(pg) = private {
        writeln!(out, "  stop the private PostgreSQL: {}", pg.stop_command())?;
    }
    Ok(())
}
