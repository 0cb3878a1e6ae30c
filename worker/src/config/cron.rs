//! The cron schedule file named by `HERALD_CRON_FILE` (read at start-up by
//! [`super::WorkerConfig::from_lookup`]; what the schedules do is in `crate::cron`):
//!
//! ```toml
//! [[schedule]]
//! name = "nightly-digest"          # stable: ticks are recorded per name
//! cron = "0 0 3 * * *"             # sec min hour day-of-month month day-of-week, in UTC
//! job_type = "notify.webhook"      # must be registered with this worker
//! payload = { url = "https://hooks.example.com/digest", body = { kind = "nightly" } }
//! queue = "default"                # optional (default: the job type's queue)
//! priority = 0                     # optional (default 0)
//! max_attempts = 5                 # optional (default: the job type's)
//! ```
//!
//! The file is read and checked here ([`load`]); the worker's runtime also checks that
//! each job type is registered and each payload passes its type's validation, so a bad
//! schedule stops the worker before any job runs.

use std::str::FromStr;

use herald_jobs::rules;
use serde::Deserialize;

use super::ConfigError;

/// One recurring job.
#[derive(Debug, Clone)]
pub(crate) struct CronSchedule {
    /// Stable name; ticks are recorded per name.
    pub(crate) name: String,
    /// The cron expression as written.
    pub(crate) expression: String,
    /// The parsed expression.
    pub(crate) schedule: cron::Schedule,
    /// The job type to enqueue.
    pub(crate) job_type: String,
    /// The payload (a JSON object).
    pub(crate) payload: serde_json::Value,
    /// The queue, when not the job type's.
    pub(crate) queue: Option<String>,
    /// Priority within the queue.
    pub(crate) priority: i16,
    /// The attempt budget, when not the job type's.
    pub(crate) max_attempts: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CronFile {
    #[serde(default)]
    schedule: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    cron: String,
    job_type: String,
    #[serde(default = "empty_object")]
    payload: serde_json::Value,
    queue: Option<String>,
    #[serde(default)]
    priority: i16,
    max_attempts: Option<u32>,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

const VAR: &str = "HERALD_CRON_FILE";

/// Reads and checks the schedule file at `path`. Fails with a [`ConfigError`] naming
/// `HERALD_CRON_FILE` when the file cannot be read or parsed, a name is empty or
/// repeated, an expression is not a valid 6- or 7-field cron expression, the payload is
/// not a table, or the job type, queue, `max_attempts` or a payload string breaks an
/// enqueue rule (`herald_jobs::rules`: the same rules as every other producer path).
pub(crate) fn load(path: &str) -> Result<Vec<CronSchedule>, ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(path, &format!("cannot read the file: {e}")))?;
    parse(&text).map_err(|reason| invalid(path, &reason))
}

/// Parses the TOML text of a schedule file; `Err` says what is wrong, in one line.
pub(crate) fn parse(text: &str) -> Result<Vec<CronSchedule>, String> {
    let file: CronFile = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut out: Vec<CronSchedule> = Vec::new();
    for entry in file.schedule {
        let name = entry.name.trim().to_owned();
        if name.is_empty() || out.iter().any(|s| s.name == name) {
            return Err(format!(
                "schedule names must be distinct and non-empty ({name:?})"
            ));
        }
        let schedule = cron::Schedule::from_str(entry.cron.trim()).map_err(|e| {
            format!(
                "schedule {name:?}: cron {:?} is invalid: {}",
                entry.cron,
                last_line(&e.to_string())
            )
        })?;
        if !entry.payload.is_object() {
            return Err(format!("schedule {name:?}: payload must be a table"));
        }
        check_rules(&entry).map_err(|v| format!("schedule {name:?}: {v}"))?;
        out.push(CronSchedule {
            name,
            expression: entry.cron,
            schedule,
            job_type: entry.job_type,
            payload: entry.payload,
            queue: entry.queue,
            priority: entry.priority,
            max_attempts: entry.max_attempts,
        });
    }
    Ok(out)
}

/// The enqueue rules for what a schedule entry sets itself (the type's defaults are
/// checked when the schedule is resolved against the registry).
fn check_rules(entry: &Entry) -> Result<(), rules::RuleViolation> {
    rules::check_job_type(&entry.job_type)?;
    if let Some(queue) = &entry.queue {
        rules::check_queue(queue)?;
    }
    if let Some(max_attempts) = entry.max_attempts {
        rules::check_max_attempts(max_attempts)?;
    }
    rules::check_payload_strings(&entry.payload)
}

/// The last non-empty line of a multi-line parser message (the cron crate echoes the
/// expression and a caret above its reason).
fn last_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("unparseable")
        .to_owned()
}

fn invalid(path: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid {
        name: VAR,
        value: crate::sanitize::sanitize(path),
        reason: crate::sanitize::sanitize(reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schedule_file_parses_with_defaults() {
        let parsed = parse(
            r#"
            [[schedule]]
            name = "digest"
            cron = "0 */5 * * * *"
            job_type = "notify.webhook"
            payload = { url = "https://x.example/", body = { n = 1 } }
            "#,
        );
        let schedules = parsed.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(schedules.len(), 1);
        assert_eq!(schedules[0].name, "digest");
        assert_eq!(schedules[0].payload["body"]["n"], 1);
        assert_eq!(
            (schedules[0].priority, schedules[0].queue.as_deref()),
            (0, None)
        );
    }

    #[test]
    fn bad_schedules_are_rejected_with_the_reason() {
        let cases = [
            (
                "[[schedule]]\nname = \"a\"\ncron = \"every day\"\njob_type = \"t\"",
                "is invalid",
            ),
            (
                "[[schedule]]\nname = \"\"\ncron = \"* * * * * *\"\njob_type = \"t\"",
                "distinct",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\n[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"",
                "distinct",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\npayload = 3",
                "must be a table",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\nmax_attempts = 0",
                "invalid max_attempts: must be between 1 and 1000",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\nqueue = \"\"",
                "invalid queue: must be 1 to 64 bytes",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\nqueue = \"a b\"",
                "invalid queue: may contain only",
            ),
            (
                "[[schedule]]\nname = \"a\"\ncron = \"* * * * * *\"\njob_type = \"t\"\nspeed = 3",
                "unknown field `speed`",
            ),
            ("[[schedule]\n", ""),
        ];
        for (text, expected) in cases {
            let err = parse(text).err().unwrap_or_default();
            assert!(!err.is_empty() && err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "one line: {err}");
        }
    }
}
