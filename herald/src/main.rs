//! `herald`: the worker, the demo and the operator commands. See `herald --help`.

use std::process::ExitCode;

use clap::Parser;
use herald::cli::{self, Cli};
use herald_worker::config;
use herald_worker::telemetry;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage(e),
    };
    let format = match config::log_format_from_env() {
        Ok(f) => f,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let filter = config::log_filter_from_env(cli.command.default_log_filter());
    let otel = match config::otel_from_env() {
        Ok(o) => o,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let telemetry = match telemetry::init(format, &filter, &otel) {
        Ok(t) => t,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let mut out = std::io::stdout();
    let result = cli::run(cli, &mut out).await;
    telemetry.shutdown().await;
    match result {
        Ok(()) | Err(cli::CliError::OutputClosed) => ExitCode::SUCCESS,
        Err(e) => fail(&e.to_string(), e.exit_code()),
    }
}

/// Help and version go to stdout as clap prints them; a usage error is one line.
fn usage(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit()
    }
    // clap's first paragraph, on one line (the usage and tip paragraphs are dropped).
    let text = e.render().to_string();
    let line: Vec<&str> = text
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty())
        .collect();
    let line = line.join(" ");
    fail(line.trim_start_matches("error: "), 2)
}

fn fail(message: &str, code: u8) -> ExitCode {
    eprintln!("herald: {message}");
    ExitCode::from(code)
}
