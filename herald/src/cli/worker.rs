//! `herald worker [--metrics-addr 127.0.0.1:9464]`: runs the worker until SIGINT or
//! SIGTERM, configured by environment variables. `herald worker --help` lists them from
//! the table in `config.rs`'s module docs, the one place they are written down.

use clap::Args;

use super::{CliError, Context};
use herald_worker::config::parse_addr;

/// Arguments of `herald worker`.
#[derive(Debug, Args, Default)]
#[command(after_help = format!("{EXAMPLES}\n\nMore: --help lists the environment variables the worker reads."), after_long_help = long_help())]
pub struct WorkerArgs {
    /// Serve Prometheus metrics on http://<ADDR>/metrics (overrides HERALD_METRICS_ADDR).
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr)]
    pub metrics_addr: Option<std::net::SocketAddr>,
}

const EXAMPLES: &str = "Examples:
  DATABASE_URL=postgres://herald@db:5432/herald herald worker
  HERALD_QUEUES=default=100,mail=10 herald worker --metrics-addr 0.0.0.0:9464";

/// The source of `config.rs`, whose module docs hold the environment table.
const CONFIG_SOURCE: &str = include_str!("../../../worker/src/config.rs");

/// The examples, then every environment variable the worker reads, its default and
/// meaning, rendered from the table in `config.rs`'s module docs.
fn long_help() -> String {
    let mut help =
        format!("{EXAMPLES}\n\nEnvironment (durations: 250ms, 30s, 5m, 2h, 7d, or seconds):");
    for (variable, default, meaning) in env_table(CONFIG_SOURCE) {
        let default = match default.strip_prefix('(') {
            Some(_) => default,
            None => format!("(default: {default})"),
        };
        help.push_str(&format!("\n  {variable}\n      {meaning} {default}"));
    }
    help
}

/// The rows of the `| variable | default | meaning |` table in `source`'s `//!` docs,
/// backticks and rustdoc link brackets removed.
fn env_table(source: &str) -> Vec<(String, String, String)> {
    let plain = |cell: &str| cell.trim().replace(['`', '[', ']'], "");
    source
        .lines()
        .filter_map(|line| line.strip_prefix("//! | "))
        .filter_map(|row| {
            let cells: Vec<&str> = row.trim_end().trim_end_matches('|').split(" | ").collect();
            match cells.as_slice() {
                [variable, default, meaning] if variable.starts_with('`') => {
                    Some((plain(variable), plain(default), plain(meaning)))
                }
                _ => None,
            }
        })
        .collect()
}

fn parse_metrics_addr(text: &str) -> Result<std::net::SocketAddr, String> {
    parse_addr("--metrics-addr", text).map_err(|e| e.to_string())
}

/// Runs the worker with the built-in job types. Fails at once, with the operator
/// commands' one-line connection errors, when the database cannot be reached.
pub async fn run(args: WorkerArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let mut cfg = ctx.config()?;
    if args.metrics_addr.is_some() {
        cfg.metrics_addr = args.metrics_addr;
    }
    let registry = herald_worker::runtime::default_registry(&cfg)?;
    // One connection first, so a malformed DATABASE_URL or an unreachable server fails
    // the way every command does: one line saying where and why.
    super::connect(&cfg).await?.close().await;
    herald_worker::runtime::run(cfg, registry, herald_worker::runtime::shutdown_signal()).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_help_lists_every_variable_of_the_config_table() {
        let rows = env_table(CONFIG_SOURCE);
        assert!(rows.len() >= 20, "{rows:?}");
        let help = long_help();
        for variable in [
            "DATABASE_URL",
            "HERALD_QUEUES",
            "HERALD_LEASE",
            "OTEL_SERVICE_NAME",
        ] {
            assert!(
                help.contains(&format!("\n  {variable}\n")),
                "{variable}: {help}"
            );
        }
        for (variable, _, _) in &rows {
            assert!(help.contains(variable.as_str()), "{variable}");
        }
        assert!(help.contains("(default: 30s)"), "{help}");
    }
}
