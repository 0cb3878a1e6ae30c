//! `herald-test-worker`: a `herald worker` that also runs the test-only jobs
//! `test.scripted` and `test.blocking` (and `notify.webhook`, as `herald worker` does),
//! for tests that need real processes (SIGKILL, SIGTERM, restarts, cancels).

use std::process::ExitCode;
use std::time::Duration;

use herald_worker::{WorkerConfig, config, runtime, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    let format = config::log_format_from_env().unwrap_or_default();
    let otel = match config::otel_from_env() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("herald-test-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match telemetry::init(format, &config::log_filter_from_env("info"), &otel) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("herald-test-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let cfg = match WorkerConfig::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("herald-test-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let effects =
        match herald_worker::db::connect(&cfg.database_url, 4, Duration::from_secs(1)).await {
            Ok(pool) => pool,
            Err(e) => {
                eprintln!("herald-test-worker: {e}");
                return ExitCode::from(1);
            }
        };
    let webhook = match runtime::default_registry(&cfg) {
        Ok(registry) => registry,
        Err(e) => {
            eprintln!("herald-test-worker: {e}");
            return ExitCode::from(2);
        }
    };
    let registry = herald_tests::jobs::register(webhook, effects);
    let result = runtime::run(cfg, registry, runtime::shutdown_signal()).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald-test-worker: {e}");
            ExitCode::from(1)
        }
    }
}
