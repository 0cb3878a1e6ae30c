//! The enqueue rules: what a producer may write into a job, defined once.
//!
//! Every producer path applies these rules before a job reaches the queue: the typed
//! builder ([`crate::NewJob`], checked at enqueue), batches ([`crate::enqueue_many`]),
//! `herald enqueue`, cron schedules (checked at start-up) and, mirrored in SQL,
//! `herald.enqueue()` (migration `20261207000100_replace_enqueue_with_shared_rules.sql`,
//! SQLSTATE `HR004`). A job that breaks a rule is refused with one clear message naming
//! the field; nothing is inserted. The integration test `enqueue_property` feeds the same
//! generated inputs to Rust and SQL and checks that both agree.
//!
//! | field | rule | why |
//! |---|---|---|
//! | `job_type` | 1..=[`JOB_TYPE_MAX_BYTES`] bytes of `A-Z a-z 0-9 _ . : -` | printed and logged; safe in tables and log lines |
//! | `queue` | 1..=[`QUEUE_MAX_BYTES`] bytes of `A-Z a-z 0-9 _ . : -` | printed and logged; the NOTIFY payload that wakes workers stays small; `HERALD_QUEUES` can name it |
//! | `run_at` | finite, [`RUN_AT_MIN`] ..= [`RUN_AT_MAX`] (UTC) | every stored time converts to a Rust time (PostgreSQL also stores `infinity` and years up to 294276) |
//! | `max_attempts` | 1..=[`MAX_ATTEMPTS_CAP`] | a budget, not a loop; the same cap in Rust, CLI and SQL |
//! | `priority` | a 16-bit integer, -32768..=32767 | the column is `smallint` (Rust's `i16` enforces it) |
//! | `idempotency_key` | absent, or 1..=[`IDEMPOTENCY_KEY_MAX_BYTES`] bytes without control characters (U+0000–U+001F, U+007F–U+009F) | an empty key would deduplicate unrelated jobs; keys are printed |
//! | `flow_key` | absent, or 1..=[`FLOW_KEY_MAX_BYTES`] bytes without control characters | the key flow limits bind to (`herald limits`); printed in `jobs show` and metric labels |
//! | `payload` | a JSON object (size: the payload limit) without a NUL character (`\u0000`) in any string | PostgreSQL's `jsonb` cannot store NUL |

use chrono::{DateTime, NaiveDate, Utc};

/// Longest job type name, in bytes.
pub const JOB_TYPE_MAX_BYTES: usize = 128;
/// Longest queue name, in bytes.
pub const QUEUE_MAX_BYTES: usize = 64;
/// Longest idempotency key, in bytes.
pub const IDEMPOTENCY_KEY_MAX_BYTES: usize = 255;
/// Longest flow key, in bytes.
pub const FLOW_KEY_MAX_BYTES: usize = 255;
/// The largest attempt budget a job may be enqueued with.
pub const MAX_ATTEMPTS_CAP: u32 = 1000;
/// The earliest run time: 1970-01-01T00:00:00Z.
pub const RUN_AT_MIN: DateTime<Utc> = DateTime::UNIX_EPOCH;
/// The latest run time: 9999-12-31T23:59:59Z.
pub const RUN_AT_MAX: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(day) => match day.and_hms_opt(23, 59, 59) {
        Some(at) => at.and_utc(),
        None => DateTime::UNIX_EPOCH,
    },
    None => DateTime::UNIX_EPOCH,
};

/// A field that breaks an enqueue rule: the field's name and why, in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {message}")]
pub struct RuleViolation {
    /// The field, e.g. `queue`.
    pub field: &'static str,
    /// Why, e.g. `must be 1 to 64 bytes`.
    pub message: String,
}

fn violation(field: &'static str, message: impl Into<String>) -> RuleViolation {
    RuleViolation {
        field,
        message: message.into(),
    }
}

/// Checks a job type name: 1..=[`JOB_TYPE_MAX_BYTES`] bytes of `A-Z a-z 0-9 _ . : -`.
pub fn check_job_type(job_type: &str) -> Result<(), RuleViolation> {
    check_name("job_type", job_type, JOB_TYPE_MAX_BYTES)
}

/// Checks a queue name: 1..=[`QUEUE_MAX_BYTES`] bytes of `A-Z a-z 0-9 _ . : -`.
pub fn check_queue(queue: &str) -> Result<(), RuleViolation> {
    check_name("queue", queue, QUEUE_MAX_BYTES)
}

fn check_name(field: &'static str, name: &str, max: usize) -> Result<(), RuleViolation> {
    if name.is_empty() || name.len() > max {
        return Err(violation(
            field,
            format!("must be 1 to {max} bytes, got {}", name.len()),
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
    {
        return Err(violation(
            field,
            "may contain only letters A-Z a-z, digits and _ . : -",
        ));
    }
    Ok(())
}

/// Checks a run time: [`RUN_AT_MIN`] ..= [`RUN_AT_MAX`].
pub fn check_run_at(run_at: DateTime<Utc>) -> Result<(), RuleViolation> {
    if run_at < RUN_AT_MIN || run_at > RUN_AT_MAX {
        return Err(violation("run_at", run_at_range_message()));
    }
    Ok(())
}

/// The run-time rule as a message, for callers that hold a time they could not convert.
pub fn run_at_range_message() -> String {
    "must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z".to_owned()
}

/// Checks an attempt budget: 1..=[`MAX_ATTEMPTS_CAP`].
pub fn check_max_attempts(max_attempts: u32) -> Result<(), RuleViolation> {
    if !(1..=MAX_ATTEMPTS_CAP).contains(&max_attempts) {
        return Err(violation(
            "max_attempts",
            format!("must be between 1 and {MAX_ATTEMPTS_CAP}, got {max_attempts}"),
        ));
    }
    Ok(())
}

/// Checks a priority given as a wider integer (the CLI's and SQL's view): -32768..=32767.
pub fn check_priority(priority: i64) -> Result<i16, RuleViolation> {
    i16::try_from(priority).map_err(|_| {
        violation(
            "priority",
            format!("must be between -32768 and 32767, got {priority}"),
        )
    })
}

/// Checks an idempotency key: 1..=[`IDEMPOTENCY_KEY_MAX_BYTES`] bytes, no control
/// characters.
pub fn check_idempotency_key(key: &str) -> Result<(), RuleViolation> {
    if key.is_empty() || key.len() > IDEMPOTENCY_KEY_MAX_BYTES {
        return Err(violation(
            "idempotency_key",
            format!(
                "must be 1 to {IDEMPOTENCY_KEY_MAX_BYTES} bytes, got {}",
                key.len()
            ),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(violation(
            "idempotency_key",
            "must not contain control characters",
        ));
    }
    Ok(())
}

/// Checks a flow key: 1..=[`FLOW_KEY_MAX_BYTES`] bytes, no control characters.
pub fn check_flow_key(key: &str) -> Result<(), RuleViolation> {
    if key.is_empty() || key.len() > FLOW_KEY_MAX_BYTES {
        return Err(violation(
            "flow_key",
            format!("must be 1 to {FLOW_KEY_MAX_BYTES} bytes, got {}", key.len()),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(violation("flow_key", "must not contain control characters"));
    }
    Ok(())
}

/// Checks that no string in `payload` (key or value) contains NUL, which `jsonb`
/// cannot store. Walks the value without recursion, so any depth is safe.
pub fn check_payload_strings(payload: &serde_json::Value) -> Result<(), RuleViolation> {
    let mut todo = vec![payload];
    while let Some(value) = todo.pop() {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => {
                return Err(nul_in_payload());
            }
            serde_json::Value::Array(items) => todo.extend(items),
            serde_json::Value::Object(map) => {
                if map.keys().any(|k| k.contains('\0')) {
                    return Err(nul_in_payload());
                }
                todo.extend(map.values());
            }
            _ => {}
        }
    }
    Ok(())
}

fn nul_in_payload() -> RuleViolation {
    violation(
        "payload",
        "must not contain a NUL character (\\u0000), which PostgreSQL cannot store",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn names_follow_one_character_set_and_length() {
        for ok in ["default", "mail.high", "a:b_c-d.9", &"q".repeat(64)] {
            assert_eq!(check_queue(ok), Ok(()), "{ok:?}");
        }
        for bad in ["", " ", "a b", "é", "q\n", "\u{1b}[31m", &"q".repeat(65)] {
            assert!(check_queue(bad).is_err(), "{bad:?}");
        }
        assert_eq!(check_job_type(&"t".repeat(128)), Ok(()));
        assert!(check_job_type(&"t".repeat(129)).is_err());
    }

    #[test]
    fn run_times_outside_1970_to_9999_are_refused() {
        assert_eq!(check_run_at(RUN_AT_MIN), Ok(()));
        assert_eq!(check_run_at(RUN_AT_MAX), Ok(()));
        assert_eq!(RUN_AT_MAX.to_rfc3339(), "9999-12-31T23:59:59+00:00");
        for bad in [
            RUN_AT_MIN - TimeDelta::seconds(1),
            RUN_AT_MAX + TimeDelta::seconds(1),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ] {
            let err = check_run_at(bad).err();
            assert_eq!(err.map(|e| e.field), Some("run_at"), "{bad}");
        }
    }

    #[test]
    fn attempts_priority_and_keys_have_bounds() {
        assert!(check_max_attempts(0).is_err());
        assert_eq!(check_max_attempts(MAX_ATTEMPTS_CAP), Ok(()));
        assert!(check_max_attempts(MAX_ATTEMPTS_CAP + 1).is_err());
        assert_eq!(check_priority(-32768), Ok(-32768));
        assert!(check_priority(32768).is_err());
        assert_eq!(check_idempotency_key("order 7 ключ"), Ok(()));
        assert_eq!(check_flow_key("hooks.example.com:8443"), Ok(()));
        for bad in ["", "a\nb", &"k".repeat(FLOW_KEY_MAX_BYTES + 1)] {
            assert!(check_flow_key(bad).is_err(), "{bad:?}");
        }
        for bad in ["", "a\nb", "\u{85}", &"k".repeat(256)] {
            assert!(check_idempotency_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_nul_anywhere_in_the_payload_is_refused_at_any_depth() {
        let mut deep = serde_json::json!({ "k": "a\u{0}b" });
        for _ in 0..1_000 {
            deep = serde_json::json!([deep]);
        }
        assert!(check_payload_strings(&deep).is_err());
        assert!(check_payload_strings(&serde_json::json!({ "a\u{0}": 1 })).is_err());
        assert_eq!(
            check_payload_strings(&serde_json::json!({ "a": ["ok", 1] })),
            Ok(())
        );
    }
}
