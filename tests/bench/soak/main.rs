//! Herald's soak benchmark and its bytes-per-job measurement (`harness = false`).
//!
//! ```sh
//! cargo bench -p herald-tests --bench soak -- [--minutes 20] [--rate 3000] [--workers 2] [--fail-percent 5] [--dead-percent 0.5] [--payload-bytes 260] [--retention 2m] [--json FILE]
//! cargo bench -p herald-tests --bench soak -- --bytes-per-job [--jobs 100000] [--payload-bytes 260] [--json FILE]
//! ```
//!
//! The soak offers a steady load to Herald's real runtime in `--workers` processes with a
//! retention short enough that the maintenance leader prunes during the run, prints a
//! line per minute (throughput, enqueue → start latency, storage, dead tuples, pruning
//! runs, workers' memory, offered rate) and compares the last 5 minutes with minutes
//! 6–10. Bytes per job measures storage per finished job. Against `DATABASE_URL` (else
//! the tests' private PostgreSQL), on a fresh database dropped at the end. Worker
//! processes are this executable re-run with `HERALD_BENCH_ROLE` set. BENCHMARKS.md
//! (*Soak*, *Storage per job*) explains the method.
//!
//! # Layout
//! - `args.rs`: command-line options
//! - `../db.rs` (shared with the throughput bench): a fresh database; worker processes
//! - `job.rs`: the job (`soak.order`) and the worker role
//! - `producer.rs`: the paced offered load
//! - `storage.rs`: bytes and dead tuples of Herald's tables; a process's memory
//! - `soak.rs`: the run and its per-minute samples; `report.rs`: lines, verdicts, JSON
//! - `bytes.rs`: bytes per job

mod args;
mod bytes;
#[path = "../db.rs"]
#[allow(
    dead_code,
    reason = "shared with the throughput bench, which uses all of it"
)]
mod db;
mod job;
mod producer;
mod report;
mod soak;
mod storage;

use std::process::ExitCode;
use std::time::Duration;

use sqlx::{Connection, PgConnection};

/// Errors end the benchmark with a message; nothing here is recoverable.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Set in a child process to the role it plays (`soak-worker`).
pub const ROLE_VAR: &str = "HERALD_BENCH_ROLE";

/// How long the first connection may take before the bench gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match std::env::var(ROLE_VAR) {
        Ok(role) if role == job::ROLE => job::worker_role().await,
        Ok(role) => Err(format!("unknown {ROLE_VAR}={role}").into()),
        Err(_) => run().await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `scheme://host...` without the user and password, for messages.
fn without_credentials(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://{host}"),
        _ => url.to_owned(),
    }
}

/// Fails within [`CONNECT_TIMEOUT`] with a clear message when `server` is unreachable.
async fn check_reachable(server: &str) -> BenchResult<()> {
    let shown = without_credentials(server);
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(server)).await {
        Ok(Ok(conn)) => Ok(conn.close().await?),
        Ok(Err(e)) => Err(format!("cannot reach PostgreSQL at {shown}: {e}").into()),
        Err(_) => Err(format!(
            "cannot reach PostgreSQL at {shown}: no connection within {}s",
            CONNECT_TIMEOUT.as_secs()
        )
        .into()),
    }
}

async fn run() -> BenchResult<()> {
    let opts = match args::Options::parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("soak: {e}\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if let Some(path) = &opts.json {
        // A path that cannot be written is an argument error, found before the run.
        // Cargo runs benchmarks in `tests/`, so relative paths start there.
        if let Err(e) = std::fs::File::create(path) {
            let cwd = std::env::current_dir().unwrap_or_default();
            eprintln!(
                "soak: cannot write the JSON report to {path} (relative to {}): {e}",
                cwd.display()
            );
            std::process::exit(2);
        }
    }
    report::progress("starting PostgreSQL (or using DATABASE_URL)");
    let server = tokio::task::spawn_blocking(herald_tests::db::try_server_url)
        .await?
        .map_err(|e| format!("no PostgreSQL: {e}"))?;
    check_reachable(&server).await?;
    match opts.mode {
        args::Mode::Soak => {
            let rows = soak::run(&server, &opts).await?;
            report::finish(&opts, &rows)
        }
        args::Mode::BytesPerJob { jobs } => bytes::run(&server, &opts, jobs).await,
    }
}
