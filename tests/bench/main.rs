//! Herald's throughput and latency benchmark (`harness = false`).
//!
//! ```sh
//! cargo bench -p herald-tests --bench throughput -- [--jobs 20000] [--rounds 3] [--only NAME,...] [--quick] [--json results.json]
//! ```
//!
//! Against a real PostgreSQL (`DATABASE_URL`, else the tests' private instance), in one
//! run: enqueue rates, drain rates of no-op jobs (Herald, always auditing, 1 and 4
//! processes, two concurrency settings; an empty table and a large history), enqueue →
//! start latency, and the same jobs through bare apalis-postgres 1.0. Every measurement
//! runs `--rounds` times, interleaved, and the report gives medians. Worker processes are
//! this executable re-run with `HERALD_BENCH_ROLE` set. BENCHMARKS.md explains the method.
//!
//! # Layout
//! - `args.rs`: command-line options
//! - `db.rs`: a fresh database per scenario; process helpers
//! - `herald_side.rs` / `apalis_side.rs`: the worker roles and each system's enqueue
//! - `enqueue.rs`, `drain.rs`, `latency.rs`: the measurements
//! - `report.rs`: the table and the JSON

mod apalis_side;
mod args;
mod db;
mod drain;
mod enqueue;
mod herald_side;
mod latency;
mod report;

use std::process::ExitCode;

/// Errors end the benchmark with a message; nothing here is recoverable.
pub type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Set in a child process to the role it plays (`herald` or `apalis`).
pub const ROLE_VAR: &str = "HERALD_BENCH_ROLE";

#[tokio::main]
async fn main() -> ExitCode {
    let outcome = match std::env::var(ROLE_VAR) {
        Ok(role) => run_role(&role).await,
        Err(_) => run_benchmark().await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("throughput: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_role(role: &str) -> BenchResult<()> {
    match role {
        "herald" => herald_side::worker_role().await,
        "apalis" => apalis_side::worker_role().await,
        other => Err(format!("unknown {ROLE_VAR}={other}").into()),
    }
}

async fn run_benchmark() -> BenchResult<()> {
    let opts = match args::Options::parse(std::env::args().skip(1)) {
        Ok(opts) => opts,
        Err(e) => {
            eprintln!("throughput: {e}\n{}", args::USAGE);
            std::process::exit(2);
        }
    };
    if let Some(path) = &opts.json {
        // Before minutes of measuring, not after: a path that cannot be written is an
        // argument error. Cargo runs benchmarks in `tests/`, so relative paths start there.
        if let Err(e) = std::fs::File::create(path) {
            let cwd = std::env::current_dir().unwrap_or_default();
            eprintln!(
                "throughput: cannot write the JSON report to {path} (relative to {}): {e}",
                cwd.display()
            );
            std::process::exit(2);
        }
    }
    let mut report = report::Report::start(&opts);
    report.progress("starting PostgreSQL (or using DATABASE_URL)");
    let server = tokio::task::spawn_blocking(herald_tests::db::server_url).await?;
    for round in 1..=opts.rounds {
        report.round = round;
        report.progress(&format!("round {round} of {}", opts.rounds));
        if opts.selects("enqueue") {
            enqueue::run(&server, &opts, &mut report).await?;
        }
        drain::run(&server, &opts, &mut report).await?;
        if opts.selects("latency") {
            latency::run(&server, &opts, &mut report).await?;
        }
    }
    report.finish(&opts)
}
