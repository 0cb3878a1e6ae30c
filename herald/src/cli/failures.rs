//! `herald failures`: failed attempts grouped by fingerprint (see `fingerprint.rs`),
//! most frequent first — how an operator finds "the 1,200 jobs that died because the
//! SMTP host was down", then replays exactly those with `herald replay --fingerprint`.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::filter::parse_time_ago;
use super::table::{json_line, time, write_table};
use super::{CliError, Context, one_line};
use herald_worker::fingerprint::{fingerprint, normalise};
use herald_worker::stored_time::StoredTime;

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

#[derive(Debug)]
struct Cause {
    job_type: String,
    error_code: String,
    message: String,
    attempts: i64,
    job_ids: Vec<i64>,
    first_seen: StoredTime,
    last_seen: StoredTime,
    example_job_id: i64,
}

/// One fingerprint in `failures --json` (field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct Group {
    fingerprint: String,
    #[serde(rename = "type")]
    job_type: String,
    error_code: String,
    message: String,
    attempts: i64,
    jobs: usize,
    first_seen: StoredTime,
    last_seen: StoredTime,
    example_job_id: i64,
    #[serde(skip)]
    job_ids: BTreeSet<i64>,
}

fn group(causes: Vec<Cause>) -> Vec<Group> {
    let mut groups: BTreeMap<String, Group> = BTreeMap::new();
    for c in causes {
        let id = fingerprint(&c.job_type, &c.error_code, &c.message);
        let g = groups.entry(id.clone()).or_insert_with(|| Group {
            fingerprint: id,
            job_type: c.job_type.clone(),
            error_code: c.error_code.clone(),
            message: normalise(&c.message),
            attempts: 0,
            jobs: 0,
            first_seen: c.first_seen,
            last_seen: c.last_seen,
            example_job_id: c.example_job_id,
            job_ids: BTreeSet::new(),
        });
        g.attempts += c.attempts;
        g.job_ids.extend(c.job_ids);
        g.first_seen = g.first_seen.min(c.first_seen);
        if c.last_seen >= g.last_seen {
            g.last_seen = c.last_seen;
            g.example_job_id = c.example_job_id;
        }
    }
    let mut list: Vec<Group> = groups
        .into_values()
        .map(|mut g| {
            g.jobs = g.job_ids.len();
            g
        })
        .collect();
    list.sort_by(|a, b| {
        b.attempts
            .cmp(&a.attempts)
            .then(b.last_seen.cmp(&a.last_seen))
    });
    list
}

/// Prints the failure groups.
pub async fn run(args: FailuresArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    let out = &mut ctx.out;
    let causes: Vec<Cause> = sqlx::query_file_as!(
        Cause,
        "queries/operator/failures.sql",
        args.since,
        args.job_type.as_deref()
    )
    .fetch_all(&pool)
    .await
    .map_err(|e| CliError::Failed(format!("cannot read failures: {}", one_line(&e))))?;
    let groups = group(causes);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn cause(message: &str, jobs: &[i64], seen: i64) -> Cause {
        let at = DateTime::from_timestamp(seen, 0).unwrap_or_default();
        Cause {
            job_type: "notify.email".into(),
            error_code: "UPSTREAM_UNAVAILABLE".into(),
            message: message.into(),
            attempts: jobs.len() as i64,
            job_ids: jobs.to_vec(),
            first_seen: at.into(),
            last_seen: at.into(),
            example_job_id: jobs.iter().copied().max().unwrap_or_default(),
        }
    }

    #[test]
    fn messages_differing_only_in_ids_merge_into_one_group() {
        let groups = group(vec![
            cause("smtp down for job 1", &[1, 2], 100),
            cause("smtp down for job 3", &[3, 2], 200),
            cause("mailbox full", &[9], 50),
        ]);
        assert_eq!(groups.len(), 2);
        let smtp = &groups[0];
        assert_eq!((smtp.attempts, smtp.jobs), (4, 3));
        assert_eq!(smtp.message, "smtp down for job <n>");
        assert_eq!(smtp.example_job_id, 3);
        assert_eq!(smtp.first_seen.ok().map(|t| t.timestamp()), Some(100));
        assert_eq!(smtp.last_seen.ok().map(|t| t.timestamp()), Some(200));
        assert_eq!(groups[1].jobs, 1);
    }
}
