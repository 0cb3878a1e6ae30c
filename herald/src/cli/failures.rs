//! `herald failures`: failed attempts grouped by fingerprint (see `fingerprint.rs`),
//! most frequent first — how an operator finds "the 1,200 jobs that died because the
//! SMTP host was down", then replays exactly those with `herald replay --fingerprint`.
//! The grouping is `operator::failures`, shared with the console.

use chrono::{DateTime, Utc};
use clap::Args;

use super::filter::parse_time_ago;
use super::table::{json_line, time, write_table};
use super::{CliError, Context};
use crate::operator::failures::load;

/// Arguments of `herald failures`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  herald failures
  herald failures --since 7d --type notify.email
  herald failures --json | jq -r .fingerprint")]
pub struct FailuresArgs {
    /// Failed attempts finished since: a duration ago (`24h`, `7d`) or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_ago, default_value = "24h")]
    pub since: DateTime<Utc>,
    /// Only this job type.
    #[arg(long = "type", value_name = "TYPE")]
    pub job_type: Option<String>,
    /// One JSON object per line instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Prints the failure groups.
pub async fn run(args: FailuresArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let groups = load(&pool, args.since, args.job_type.as_deref()).await?;
    if args.json {
        for g in &groups {
            json_line(out, g)?;
        }
        return Ok(());
    }
    let cells: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            vec![
                g.fingerprint.clone(),
                g.job_type.clone(),
                g.error_code.clone(),
                g.attempts.to_string(),
                g.jobs.to_string(),
                g.first_seen.shown(time),
                g.last_seen.shown(time),
                g.example_job_id.to_string(),
                g.message.clone(),
            ]
        })
        .collect();
    write_table(
        out,
        &[
            "FINGERPRINT",
            "TYPE",
            "ERROR",
            "ATTEMPTS",
            "JOBS",
            "FIRST SEEN",
            "LAST SEEN",
            "EXAMPLE",
            "MESSAGE",
        ],
        &cells,
    )?;
    Ok(())
}
