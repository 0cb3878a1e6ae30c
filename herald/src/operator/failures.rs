//! Failed attempts grouped by fingerprint, most frequent first: `herald failures` and
//! the console's failures page read the same groups (`queries/operator/failures.sql`,
//! then merged by fingerprint here).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::OperatorError;
use herald_worker::fingerprint::{fingerprint, normalise};
use herald_worker::stored_time::StoredTime;

/// One exact (type, code, message) cause, as the query groups them.
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

/// One fingerprint in `failures --json` and the console's `GET /api/v1/failures`
/// (field names are a stable contract).
#[derive(Debug, Serialize)]
pub struct Group {
    /// 12 hex digits (`herald_worker::fingerprint`).
    pub fingerprint: String,
    /// The job type.
    #[serde(rename = "type")]
    pub job_type: String,
    /// The error code.
    pub error_code: String,
    /// A sample message, sanitised at write and normalised (ids as `<n>`).
    pub message: String,
    /// Failed attempts.
    pub attempts: i64,
    /// Distinct jobs.
    pub jobs: usize,
    /// The first failure's time.
    pub first_seen: StoredTime,
    /// The last failure's time.
    pub last_seen: StoredTime,
    /// The job of the last failure.
    pub example_job_id: i64,
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

/// The failure groups of attempts finished since `since`, of `job_type` (any when
/// `None`), most attempts first.
pub async fn load(
    pool: &PgPool,
    since: DateTime<Utc>,
    job_type: Option<&str>,
) -> Result<Vec<Group>, OperatorError> {
    let causes: Vec<Cause> =
        sqlx::query_file_as!(Cause, "queries/operator/failures.sql", since, job_type)
            .fetch_all(pool)
            .await
            .map_err(|e| OperatorError::Database("read failures", e))?;
    Ok(group(causes))
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
