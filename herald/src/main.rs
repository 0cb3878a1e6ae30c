//! `herald`: the worker, the demo and the operator commands. See `herald --help`.
//!
//! Thin: parses the arguments, starts telemetry, builds the command's [`Context`] from
//! the process and runs it (`cli::run`); `cli::exit_code` turns the result into the
//! exit code and the one-line error.

use std::process::ExitCode;

use clap::Parser;
use herald::cli::{self, Cli, CliError, Context};
use herald_worker::config;
use herald_worker::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let (mut stdout, mut stderr) = (std::io::stdout(), std::io::stderr());
    let mut ctx = Context::process(&mut stdout, &mut stderr);
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version as clap prints them (styled on a terminal).
        Err(e) if cli::shows_help(&e) => e.exit(),
        Err(e) => return exit(Err(e.into()), &mut ctx),
    };
    let format = match config::log_format_from_env() {
        Ok(f) => f,
        Err(e) => return exit(Err(CliError::Usage(e.to_string())), &mut ctx),
    };
    let filter = config::log_filter_from_env(cli.command.default_log_filter());
    let otel = match config::otel_from_env() {
        Ok(o) => o,
        Err(e) => return exit(Err(CliError::Usage(e.to_string())), &mut ctx),
    };
    let telemetry = match telemetry::init(format, &filter, &otel) {
        Ok(t) => t,
        Err(e) => return exit(Err(CliError::Usage(e.to_string())), &mut ctx),
    };
    let result = cli::run(cli, &mut ctx).await;
    telemetry.shutdown().await;
    exit(result, &mut ctx)
}

fn exit(result: Result<(), CliError>, ctx: &mut Context<'_>) -> ExitCode {
    ExitCode::from(cli::exit_code(result, ctx))
}
