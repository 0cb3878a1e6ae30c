//! `herald-test-worker`: a `herald worker` that also runs the test-only job
//! `test.scripted`, for tests that need real processes (SIGKILL, SIGTERM, restarts).
//! With `HERALD_TEST_WORKER_BUILTINS=1` it also runs the built-in jobs `herald worker`
//! runs (`notify.webhook`, ...), for fleet tests that deliver to a real receiver.

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
    let registry = if std::env::var_os("HERALD_TEST_WORKER_BUILTINS").is_some() {
        match runtime::default_registry(&cfg) {
            Ok(builtins) => builtins.register::<herald_tests::jobs::ScriptedJob>(effects),
            Err(e) => {
                eprintln!("herald-test-worker: {e}");
                return ExitCode::from(2);
            }
        }
    } else {
        herald_tests::jobs::registry(effects)
    };
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
