//! One measurement per call: N deliveries of one kind through a real `herald worker`
//! process, or through Celery (`tests/bench/celery/run.sh delivery`).

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use herald_jobs::enqueue::NewJob;
use herald_jobs::notify::{EmailJob, WebhookJob};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::json;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::BenchResult;
use crate::receiver::{Endpoints, now_us};

/// What a measurement returns: the deliveries' window start and the worker's CPU.
pub struct Measured {
    /// Index of the first delivery of this measurement at the endpoint.
    pub from: usize,
    /// CPU seconds of the worker process(es) from the first enqueue to the last delivery
    /// (Herald: to the last acknowledgement).
    pub cpu_secs: f64,
}

/// Jobs per `enqueue_many` call.
const BATCH: usize = 500;
/// How long a measurement may take before the bench gives up.
const DEADLINE: Duration = Duration::from_secs(600);
const SIGNING_KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn herald_bin() -> PathBuf {
    std::env::var_os("HERALD_BIN").map_or_else(
        || {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../target/release/herald"
            ))
        },
        PathBuf::from,
    )
}

/// utime + stime of process `pid`, in seconds (`/proc/<pid>/stat`, fields 14 and 15).
fn cpu_of(pid: u32) -> BenchResult<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    Ok(ticks / clock_ticks())
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) -> BenchResult<()> {
    let deadline = Instant::now() + DEADLINE;
    while !done() {
        if Instant::now() > deadline {
            return Err(format!("{what} did not happen within {DEADLINE:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

fn job(kind: &str, endpoints: &Endpoints, n: usize, enqueued_us: i64) -> BenchResult<NewJob> {
    Ok(match kind {
        "webhook" => NewJob::new(&WebhookJob {
            url: endpoints.hook_url(),
            body: json!({ "enqueued_at": enqueued_us }),
        })?,
        _ => NewJob::new(&EmailJob {
            to: format!("user{n}@example.com"),
            template: "bench".to_owned(),
            vars: json!({ "enqueued_at": enqueued_us }),
        })?,
    })
}

async fn enqueue(pool: &PgPool, kind: &str, endpoints: &Endpoints, n: usize) -> BenchResult<()> {
    let mut sent = 0;
    while sent < n {
        let take = BATCH.min(n - sent);
        let stamp = now_us();
        let jobs = (sent..sent + take)
            .map(|i| job(kind, endpoints, i, stamp))
            .collect::<BenchResult<Vec<_>>>()?;
        herald_jobs::enqueue_many(pool, jobs).await?;
        sent += take;
    }
    Ok(())
}

async fn open_jobs(pool: &PgPool) -> BenchResult<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM herald.jobs WHERE state IN ('pending', 'running', 'retrying')",
    )
    .fetch_one(pool)
    .await?)
}

/// N deliveries of `kind` through `herald worker` (release build) on a fresh database
/// at `url`, with Herald's defaults plus `extra` settings.
pub async fn herald(
    url: &str,
    endpoints: &Endpoints,
    kind: &str,
    n: usize,
    extra: &[(&str, &str)],
) -> BenchResult<Measured> {
    let pool = PgPoolOptions::new().max_connections(4).connect(url).await?;
    herald_worker::db::migrate(&pool).await?;
    let templates = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/delivery/templates");
    let port = endpoints.smtp_port().to_string();
    let mut child = Command::new(herald_bin())
        .arg("worker")
        .env("DATABASE_URL", url)
        .env("HERALD_LOG", "warn")
        .env("HERALD_WEBHOOK_SIGNING_KEYS", SIGNING_KEY)
        .env("HERALD_SMTP_HOST", "127.0.0.1")
        .env("HERALD_SMTP_PORT", &port)
        .env("HERALD_SMTP_TLS", "none")
        .env("HERALD_EMAIL_FROM", "Bench <bench@example.com>")
        .env("HERALD_EMAIL_TEMPLATES", templates)
        .env("HERALD_EMAIL_RATE_LIMIT", "off")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "cannot run {}: {e} (cargo build --release -p herald)",
                herald_bin().display()
            )
        })?;
    let pid = child.id();
    let outcome = async {
        // One delivery first: the worker is up and has registered its job types.
        let before = endpoints.count(kind);
        let mut ready = false;
        for _ in 0..100 {
            if herald_jobs::enqueue::enqueue(&pool, job(kind, endpoints, 0, now_us())?)
                .await
                .is_ok()
            {
                ready = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !ready {
            return Err("could not enqueue the warm-up job".into());
        }
        wait_for("the warm-up delivery", || endpoints.count(kind) > before).await?;
        wait_for_db_idle(&pool).await?;
        let from = endpoints.count(kind);
        let cpu0 = cpu_of(pid)?;
        enqueue(&pool, kind, endpoints, n).await?;
        wait_for("all deliveries", || endpoints.count(kind) >= from + n).await?;
        wait_for_db_idle(&pool).await?;
        let cpu_secs = cpu_of(pid)? - cpu0;
        BenchResult::Ok(Measured { from, cpu_secs })
    }
    .await;
    let _ = kill(Pid::from_raw(pid as i32), Signal::SIGTERM);
    let _ = tokio::task::spawn_blocking(move || child.wait()).await;
    pool.close().await;
    outcome
}

async fn wait_for_db_idle(pool: &PgPool) -> BenchResult<()> {
    let deadline = Instant::now() + DEADLINE;
    while open_jobs(pool).await? > 0 {
        if Instant::now() > deadline {
            return Err("jobs still open".into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// One Celery configuration: worker pool, concurrency, processes, and for e-mail
/// whether smtplib reuses its connection.
#[derive(Debug, Clone, Copy)]
pub struct CeleryConfig {
    /// The label in the report.
    pub label: &'static str,
    /// `prefork` or `threads`.
    pub pool: &'static str,
    /// Concurrency per process.
    pub concurrency: usize,
    /// Worker processes.
    pub processes: usize,
    /// E-mail: `per-task` or `reuse`.
    pub smtp: &'static str,
}

/// N deliveries of `kind` through Celery in `config`.
pub async fn celery(
    endpoints: &Endpoints,
    kind: &str,
    n: usize,
    config: CeleryConfig,
) -> BenchResult<Measured> {
    let from = endpoints.count(kind);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/celery/run.sh");
    let args = vec![
        script.to_owned(),
        "delivery".into(),
        "--kind".into(),
        kind.into(),
        "--n".into(),
        n.to_string(),
        "--url".into(),
        endpoints.hook_url(),
        "--smtp-port".into(),
        endpoints.smtp_port().to_string(),
        "--smtp".into(),
        if config.smtp.is_empty() {
            "per-task".into()
        } else {
            config.smtp.into()
        },
        "--pool".into(),
        config.pool.into(),
        "--concurrency".into(),
        config.concurrency.to_string(),
        "--processes".into(),
        config.processes.to_string(),
        "--count-url".into(),
        endpoints.count_url(kind),
    ];
    let output = tokio::process::Command::new("bash")
        .args(&args)
        .stderr(Stdio::inherit())
        .output()
        .await?;
    if !output.status.success() {
        return Err(format!("celery ({}) failed: {}", config.label, output.status).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or("");
    let value: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| format!("celery ({}) printed {line:?}: {e}", config.label))?;
    let cpu_secs = value["cpu_secs"].as_f64().unwrap_or(f64::NAN);
    Ok(Measured { from, cpu_secs })
}
