//! `herald worker [--metrics-addr 127.0.0.1:9464]`: runs the worker until SIGINT or
//! SIGTERM, configured by environment variables (`config.rs`).

use clap::Args;

use super::CliError;
use crate::config::{WorkerConfig, parse_addr};

/// Arguments of `herald worker`.
#[derive(Debug, Args, Default)]
pub struct WorkerArgs {
    /// Serve Prometheus metrics on http://<ADDR>/metrics (overrides HERALD_METRICS_ADDR).
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

fn parse_metrics_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    parse_addr("--metrics-addr", text).map_err(|e| e.to_string())
}

/// Runs the worker with the built-in job types.
pub async fn run(args: WorkerArgs) -> Result<(), CliError> {
    let mut cfg = WorkerConfig::from_env()?;
    if args.metrics_addr.is_some() {
        cfg.metrics_addr = args.metrics_addr;
    }
    let registry = crate::runtime::default_registry(&cfg)?;
    crate::runtime::run(cfg, registry, crate::runtime::shutdown_signal()).await?;
    Ok(())
}
