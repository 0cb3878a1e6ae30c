//! The job filter shared by `herald jobs list`, `replay`, `cancel`, `purge` and the
//! console's job actions: its flags, their parsers (states, durations/times,
//! fingerprints) and the one query that selects matching jobs
//! (`queries/operator/select_jobs.sql`). `cli::filter` re-exports it.

use chrono::{DateTime, Utc};
use clap::{Args, ValueEnum};
use serde::Serialize;
use sqlx::PgPool;

use super::OperatorError;
use herald_worker::config::{DurationError, MAX_DURATION, parse_duration_within};
use herald_worker::fingerprint;
use herald_worker::stored_time::StoredTime;

/// A job state as operators name it (`scheduled` = pending with a future run time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting, due now.
    Pending,
    /// Waiting for a future run time.
    Scheduled,
    /// Claimed by a worker.
    Running,
    /// Failed retryably; runs again at its run time.
    Retrying,
    /// Failed terminally or ran out of attempts.
    Dead,
    /// Finished successfully.
    Succeeded,
    /// Cancelled by an operator.
    Cancelled,
    /// A workflow's callback or chain step not yet released by its batch.
    Waiting,
}

/// The states a cancel selects when none is given: jobs not started yet.
pub const CANCEL_BY_DEFAULT: [State; 4] = [
    State::Pending,
    State::Scheduled,
    State::Retrying,
    State::Waiting,
];

/// Every state a cancel acts on (a running job gets a cancel request its worker acts on).
pub const CANCELLABLE: [State; 5] = [
    State::Pending,
    State::Scheduled,
    State::Retrying,
    State::Waiting,
    State::Running,
];

/// What a cancel of any other state is told.
pub const CANCELLABLE_RULE: &str =
    "only pending, scheduled, retrying, waiting or running jobs can be cancelled";

impl State {
    /// The name used in output and queries.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Scheduled => "scheduled",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Dead => "dead",
            Self::Succeeded => "succeeded",
            Self::Cancelled => "cancelled",
            Self::Waiting => "waiting",
        }
    }
}

/// Which jobs a command applies to. Every flag narrows the selection.
#[derive(Debug, Clone, Default, PartialEq, Args)]
pub struct JobFilter {
    /// Job state (repeat or comma-separate for several; each command has its default).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub state: Vec<State>,
    /// Job type, e.g. `notify.webhook`.
    #[arg(long = "type", value_name = "TYPE")]
    pub job_type: Option<String>,
    /// Queue name.
    #[arg(long)]
    pub queue: Option<String>,
    /// The job's last error code, e.g. `UPSTREAM_UNAVAILABLE`.
    #[arg(long)]
    pub error_code: Option<String>,
    /// The fingerprint of the job's last failure (12 hex digits, from `herald failures`).
    #[arg(long, value_parser = parse_fingerprint)]
    pub fingerprint: Option<String>,
    /// Finished (or, if unfinished, created) at or after: a duration ago (`2h`, `7d`) or
    /// an RFC 3339 time.
    #[arg(long, value_parser = parse_time_ago)]
    pub since: Option<DateTime<Utc>>,
    /// Finished (or, if unfinished, created) before: a duration ago or an RFC 3339 time.
    #[arg(long, value_parser = parse_time_ago)]
    pub until: Option<DateTime<Utc>>,
    /// Text in the job: its id (exactly) or part of its idempotency key, e.g.
    /// `order-1234` (matched as plain text: no wildcards).
    #[arg(long)]
    pub text: Option<String>,
    /// At most this many jobs (newest first).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
}

impl JobFilter {
    /// The filter as recorded in an operator action (`filter` column): only the flags
    /// given, with the states actually applied.
    pub fn describe(&self, states: &[State]) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        let mut put = |k: &str, v: serde_json::Value| {
            map.insert(k.to_owned(), v);
        };
        if !states.is_empty() {
            put("state", states.iter().map(|s| s.as_str()).collect());
        }
        let text = [
            ("type", &self.job_type),
            ("queue", &self.queue),
            ("error_code", &self.error_code),
            ("fingerprint", &self.fingerprint),
            ("text", &self.text),
        ];
        for (k, v) in text {
            if let Some(v) = v {
                put(k, v.clone().into());
            }
        }
        if let Some(t) = self.since {
            put("since", t.to_rfc3339().into());
        }
        if let Some(t) = self.until {
            put("until", t.to_rfc3339().into());
        }
        if let Some(n) = self.limit {
            put("limit", n.into());
        }
        serde_json::Value::Object(map)
    }
}

/// Explicit ids as the audit row's `filter` records them, readable however many:
/// ascending runs collapsed to ranges, at most [`SHOWN_RANGES`] of them, and the count:
/// `"1-3, 7 (4 ids)"`, `"1001-2000 (1000 ids)"`, `"1, 3, 5, … (900 ids)"`. Every changed
/// job's id is in the row's `job_ids` column.
pub(crate) fn describe_ids(ids: &[i64]) -> String {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut ranges: Vec<(i64, i64)> = Vec::new();
    for id in &sorted {
        match ranges.last_mut() {
            Some((_, end)) if end.checked_add(1) == Some(*id) => *end = *id,
            _ => ranges.push((*id, *id)),
        }
    }
    let mut shown: Vec<String> = ranges
        .iter()
        .take(SHOWN_RANGES)
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect();
    if ranges.len() > SHOWN_RANGES {
        shown.push("…".to_owned());
    }
    match sorted.len() {
        1 => shown.join(", "),
        n => format!("{} ({n} ids)", shown.join(", ")),
    }
}

/// How many id ranges an audit row's `filter` spells out.
const SHOWN_RANGES: usize = 10;

/// Parses a fingerprint id (12 hex digits).
pub fn parse_fingerprint(text: &str) -> Result<String, String> {
    fingerprint::parse(text)
}

/// Parses `2h` (that long ago, at most 36500d) or an RFC 3339 time.
pub fn parse_time_ago(text: &str) -> Result<DateTime<Utc>, String> {
    match parse_duration_within(text, std::time::Duration::ZERO..=MAX_DURATION) {
        Ok(d) => {
            return chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| Utc::now().checked_sub_signed(d))
                .ok_or_else(|| "duration out of range".to_owned());
        }
        Err(e @ DurationError::OutOfRange(..)) => return Err(e.to_string()),
        Err(_) => {}
    }
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not a duration (e.g. 30m, 2h, 7d) or an RFC 3339 time".to_owned())
}

/// One job as the filter selects it.
#[derive(Debug, Clone)]
pub struct JobRow {
    /// Job id.
    pub id: i64,
    /// Job type.
    pub job_type: String,
    /// Queue.
    pub queue: String,
    /// State as operators see it (`scheduled` included).
    pub state: String,
    /// Attempts made.
    pub attempt: i32,
    /// Attempt budget.
    pub max_attempts: i32,
    /// Priority.
    pub priority: i16,
    /// Next (or last) run time, as stored (it may be out of range: `'infinity'`).
    pub run_at: StoredTime,
    /// Creation time.
    pub created_at: StoredTime,
    /// When it finished (succeeded, dead, cancelled).
    pub finished_at: Option<StoredTime>,
    /// The last error code recorded on the job.
    pub last_error_code: Option<String>,
    /// The last failed attempt's error code.
    pub failure_code: Option<String>,
    /// The last failed attempt's (sanitised) message.
    pub failure_message: Option<String>,
}

impl JobRow {
    /// The fingerprint of the job's last failure, if it ever failed.
    pub fn fingerprint(&self) -> Option<String> {
        self.failure_code.as_deref().map(|code| {
            fingerprint::fingerprint(
                &self.job_type,
                code,
                self.failure_message.as_deref().unwrap_or(""),
            )
        })
    }
}

/// The jobs among `ids` (any job when `None`) matching `filter` in `states` (any state
/// when empty), newest first.
pub async fn select(
    pool: &PgPool,
    ids: Option<&[i64]>,
    filter: &JobFilter,
    states: &[State],
) -> Result<Vec<JobRow>, OperatorError> {
    select_page(pool, ids, filter, states, None).await
}

/// Like [`select`], only jobs with an id below `before_id` (a keyset cursor).
pub async fn select_page(
    pool: &PgPool,
    ids: Option<&[i64]>,
    filter: &JobFilter,
    states: &[State],
    before_id: Option<i64>,
) -> Result<Vec<JobRow>, OperatorError> {
    let states: Option<Vec<&str>> =
        (!states.is_empty()).then(|| states.iter().map(|s| s.as_str()).collect());
    // With a fingerprint the limit applies after matching it, here rather than in SQL.
    let sql_limit = match filter.fingerprint {
        Some(_) => None,
        None => filter.limit.map(i64::from),
    };
    let mut rows: Vec<JobRow> = sqlx::query_file_as!(
        JobRow,
        "queries/operator/select_jobs.sql",
        ids,
        states as _,
        filter.job_type.as_deref(),
        filter.queue.as_deref(),
        filter.error_code.as_deref(),
        filter.since,
        filter.until,
        sql_limit,
        before_id,
        filter.text.as_deref()
    )
    .fetch_all(pool)
    .await
    .map_err(|e| OperatorError::Database("read jobs", e))?;
    if let Some(wanted) = &filter.fingerprint {
        rows.retain(|r| r.fingerprint().as_deref() == Some(wanted.as_str()));
        if let Some(n) = filter.limit {
            rows.truncate(n as usize);
        }
    }
    Ok(rows)
}

/// How many jobs match `filter` in `states`, whatever its limit. Reads every matching
/// job (and with a fingerprint, their last failures too): slow on very large tables.
pub async fn count(
    pool: &PgPool,
    filter: &JobFilter,
    states: &[State],
) -> Result<u64, OperatorError> {
    if filter.fingerprint.is_some() {
        let all = JobFilter {
            limit: None,
            ..filter.clone()
        };
        return Ok(select(pool, None, &all, states).await?.len() as u64);
    }
    let states: Option<Vec<&str>> =
        (!states.is_empty()).then(|| states.iter().map(|s| s.as_str()).collect());
    let n: i64 = sqlx::query_file_scalar!(
        "queries/operator/count_jobs.sql",
        states as _,
        filter.job_type.as_deref(),
        filter.queue.as_deref(),
        filter.error_code.as_deref(),
        filter.since,
        filter.until,
        filter.text.as_deref()
    )
    .fetch_one(pool)
    .await
    .map_err(|e| OperatorError::Database("count jobs", e))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_times_both_name_a_moment() {
        let two_hours_ago = parse_time_ago("2h").unwrap_or_else(|e| panic!("{e}"));
        let age = Utc::now() - two_hours_ago;
        assert!(age >= chrono::Duration::hours(2) && age < chrono::Duration::hours(3));
        assert_eq!(
            parse_time_ago("2026-11-29T10:00:00Z").map(|t| t.to_rfc3339()),
            Ok("2026-11-29T10:00:00+00:00".to_owned())
        );
        assert!(parse_time_ago("yesterday").is_err());
    }

    #[test]
    fn the_recorded_filter_holds_only_what_was_given() {
        let filter = JobFilter {
            job_type: Some("t".into()),
            limit: Some(5),
            ..JobFilter::default()
        };
        assert_eq!(
            filter.describe(&[State::Dead]),
            serde_json::json!({"state": ["dead"], "type": "t", "limit": 5})
        );
    }

    #[test]
    fn recorded_ids_collapse_to_ranges_and_a_count() {
        assert_eq!(describe_ids(&[7]), "7");
        assert_eq!(describe_ids(&[3, 1, 2, 7]), "1-3, 7 (4 ids)");
        let thousand: Vec<i64> = (1001..=2000).collect();
        assert_eq!(describe_ids(&thousand), "1001-2000 (1000 ids)");
        let odd: Vec<i64> = (0..900).map(|n| n * 2 + 1).collect();
        assert_eq!(
            describe_ids(&odd),
            "1, 3, 5, 7, 9, 11, 13, 15, 17, 19, … (900 ids)"
        );
    }
}
