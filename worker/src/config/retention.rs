//! Retention and maintenance settings: how long each kind of history is kept, and how
//! the maintenance leader prunes it (see `crate::maintenance`).
//!
//! | variable | default | range | meaning |
//! |---|---|---|---|
//! | `HERALD_RETENTION_SUCCEEDED` | `3d` | 1s to 36500d | succeeded jobs and their audit rows |
//! | `HERALD_RETENTION_DEAD` | `30d` | 1s to 36500d | dead jobs and their audit rows |
//! | `HERALD_RETENTION_CANCELLED` | `30d` | 1s to 36500d | cancelled jobs and their audit rows |
//! | `HERALD_RETENTION_FAILED_ATTEMPTS` | `30d` | 1s to 36500d | every audit row whose outcome is not `succeeded`, even when its job succeeded and was pruned |
//! | `HERALD_RETENTION_OPERATOR_ACTIONS` | `365d` | 1s to 36500d | the operator-action log (replay, cancel, purge, alert rows) |
//! | `HERALD_RETENTION_MAINTENANCE_RUNS` | `365d` | 1s to 36500d | the records of pruning runs themselves |
//! | `HERALD_RETENTION_CONSOLE_EVENTS` | `365d` | 1s to 36500d | the console's authentication audit (`herald.console_events`) |
//! | `HERALD_RETENTION_QUEUES` | none | – | per-queue overrides, `queue/class=age,…` (below) |
//! | `HERALD_MAINTENANCE_ENABLED` | `true` | `true`/`false` | `false`: this worker never leads maintenance (others still do) |
//! | `HERALD_MAINTENANCE_INTERVAL` | `5m` | 10ms to 7d | a pruning run starts when the last one started this long ago |
//! | `HERALD_MAINTENANCE_BATCH` | `1000` | 1 to 10000 | rows one pruning transaction deletes at most |
//! | `HERALD_MAINTENANCE_PAUSE` | `100ms` | 0s to 1m | pause between two batches, so pruning never starves the queue |
//! | `HERALD_AUDIT_PARTITION_JOBS` | `1000000` | 10 to 1000000000 | job ids per partition of `herald.attempts` (partitions created from then on) |
//! | `HERALD_AUDIT_PARTITIONS_AHEAD` | `2` | 0 to 100 | partitions the leader keeps created beyond the one receiving new job ids |
//!
//! Per-queue overrides: `HERALD_RETENTION_QUEUES=billing/succeeded=30d,billing/dead=365d,
//! bulk/failed_attempts=7d`. A `/` separates the queue from the class because queue names
//! may hold `.`, `:`, `-` and `_` but never `/`; the queue follows the enqueue rules (1 to
//! 64 bytes of `A-Z a-z 0-9 _ . : -`); the class is one of `succeeded`, `dead`,
//! `cancelled`, `failed_attempts` (the operator log and the run records are fleet-wide,
//! not per queue); each pair at most once.

use std::collections::BTreeMap;
use std::time::Duration;

use super::ConfigError;
use super::parse::{
    MAX_DURATION, duration, format_duration, invalid, number, parse_duration_within,
};

/// A kind of history with its own retention age.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum RetentionClass {
    /// Succeeded jobs and their audit rows.
    Succeeded,
    /// Dead jobs and their audit rows.
    Dead,
    /// Cancelled jobs and their audit rows.
    Cancelled,
    /// Audit rows of failed attempts (outcome other than `succeeded`).
    FailedAttempts,
    /// Rows of `herald.operator_actions`.
    OperatorActions,
    /// Rows of `herald.maintenance_runs`.
    MaintenanceRuns,
    /// Rows of `herald.console_events` (the console's authentication audit).
    ConsoleEvents,
}

impl RetentionClass {
    /// Every class, in the order a pruning run handles them.
    pub const ALL: [Self; 7] = [
        Self::Succeeded,
        Self::Dead,
        Self::Cancelled,
        Self::FailedAttempts,
        Self::OperatorActions,
        Self::MaintenanceRuns,
        Self::ConsoleEvents,
    ];

    /// The name used in the policy's JSON, in `HERALD_RETENTION_QUEUES` and by the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => "succeeded",
            Self::Dead => "dead",
            Self::Cancelled => "cancelled",
            Self::FailedAttempts => "failed_attempts",
            Self::OperatorActions => "operator_actions",
            Self::MaintenanceRuns => "maintenance_runs",
            Self::ConsoleEvents => "console_events",
        }
    }

    /// The variable that sets its default age.
    pub fn variable(self) -> &'static str {
        match self {
            Self::Succeeded => "HERALD_RETENTION_SUCCEEDED",
            Self::Dead => "HERALD_RETENTION_DEAD",
            Self::Cancelled => "HERALD_RETENTION_CANCELLED",
            Self::FailedAttempts => "HERALD_RETENTION_FAILED_ATTEMPTS",
            Self::OperatorActions => "HERALD_RETENTION_OPERATOR_ACTIONS",
            Self::MaintenanceRuns => "HERALD_RETENTION_MAINTENANCE_RUNS",
            Self::ConsoleEvents => "HERALD_RETENTION_CONSOLE_EVENTS",
        }
    }

    /// Herald's default age (README, *Retention*).
    pub fn default_age(self) -> Duration {
        const DAY: u64 = 86_400;
        Duration::from_secs(match self {
            Self::Succeeded => 3 * DAY,
            Self::Dead | Self::Cancelled | Self::FailedAttempts => 30 * DAY,
            Self::OperatorActions | Self::MaintenanceRuns | Self::ConsoleEvents => 365 * DAY,
        })
    }

    /// Whether a queue may override it (job and audit classes; not the fleet-wide logs).
    pub fn per_queue(self) -> bool {
        matches!(
            self,
            Self::Succeeded | Self::Dead | Self::Cancelled | Self::FailedAttempts
        )
    }
}

/// One class's age and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassAge {
    /// Rows older than this are pruned.
    pub age: Duration,
    /// `true` when set by its variable, `false` for Herald's default.
    pub configured: bool,
}

/// How long each kind of history is kept: a default per class, overrides per queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionPolicy {
    ages: BTreeMap<RetentionClass, ClassAge>,
    queues: BTreeMap<String, BTreeMap<RetentionClass, Duration>>,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self {
            ages: RetentionClass::ALL
                .into_iter()
                .map(|c| {
                    let age = ClassAge {
                        age: c.default_age(),
                        configured: false,
                    };
                    (c, age)
                })
                .collect(),
            queues: BTreeMap::new(),
        }
    }
}

impl RetentionPolicy {
    /// `class`'s default age (for queues without an override) and its source.
    pub fn class_age(&self, class: RetentionClass) -> ClassAge {
        self.ages.get(&class).copied().unwrap_or(ClassAge {
            age: class.default_age(),
            configured: false,
        })
    }

    /// The per-queue overrides: queue → class → age.
    pub fn queue_overrides(&self) -> &BTreeMap<String, BTreeMap<RetentionClass, Duration>> {
        &self.queues
    }

    /// The age that applies to `class` in `queue`.
    pub fn age_in(&self, class: RetentionClass, queue: &str) -> Duration {
        self.queues
            .get(queue)
            .and_then(|o| o.get(&class))
            .copied()
            .unwrap_or_else(|| self.class_age(class).age)
    }

    /// The shortest age of `class` in any queue: rows younger than this are never pruned.
    pub fn min_age(&self, class: RetentionClass) -> Duration {
        self.queues
            .values()
            .filter_map(|o| o.get(&class).copied())
            .fold(self.class_age(class).age, Duration::min)
    }
}

/// Everything the maintenance leader runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Whether this worker takes part in maintenance leadership.
    pub enabled: bool,
    /// A run starts when the newest run started this long ago.
    pub interval: Duration,
    /// Most rows one pruning transaction deletes.
    pub batch_size: u32,
    /// Pause between two batches.
    pub pause: Duration,
    /// The retention ages.
    pub policy: RetentionPolicy,
    /// Job ids per partition of `herald.attempts`.
    pub audit_partition_jobs: u32,
    /// Partitions kept created beyond the one receiving new job ids.
    pub audit_partitions_ahead: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval: DEFAULT_INTERVAL,
            batch_size: DEFAULT_BATCH,
            pause: DEFAULT_PAUSE,
            policy: RetentionPolicy::default(),
            audit_partition_jobs: DEFAULT_PARTITION_JOBS,
            audit_partitions_ahead: DEFAULT_PARTITIONS_AHEAD,
        }
    }
}

const DEFAULT_INTERVAL: Duration = Duration::from_secs(300);
const DEFAULT_BATCH: u32 = 1000;
const DEFAULT_PAUSE: Duration = Duration::from_millis(100);
const DEFAULT_PARTITION_JOBS: u32 = 1_000_000;
const DEFAULT_PARTITIONS_AHEAD: u32 = 2;

/// The range every retention age accepts (also the per-queue overrides').
pub(super) const AGE_RANGE: (Duration, Duration) = (Duration::from_secs(1), MAX_DURATION);

const QUEUES_VAR: &str = "HERALD_RETENTION_QUEUES";

/// Reads the retention settings through `get`; a bad value is an error naming the
/// variable and what it accepts.
pub(super) fn from_lookup(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<RetentionConfig, ConfigError> {
    let mut ages = BTreeMap::new();
    for class in RetentionClass::ALL {
        let configured = get(class.variable()).is_some();
        let age = duration(get, class.variable(), class.default_age())?;
        ages.insert(class, ClassAge { age, configured });
    }
    let queues = match get(QUEUES_VAR) {
        None => BTreeMap::new(),
        Some(spec) => queue_overrides(&spec)?,
    };
    let enabled = match get("HERALD_MAINTENANCE_ENABLED").as_deref().map(str::trim) {
        None | Some("true") | Some("1") => true,
        Some("false") | Some("0") => false,
        Some(other) => {
            return Err(invalid(
                "HERALD_MAINTENANCE_ENABLED",
                other,
                "true or false",
            ));
        }
    };
    Ok(RetentionConfig {
        enabled,
        interval: duration(get, "HERALD_MAINTENANCE_INTERVAL", DEFAULT_INTERVAL)?,
        batch_size: number(get, "HERALD_MAINTENANCE_BATCH", DEFAULT_BATCH)?,
        pause: duration(get, "HERALD_MAINTENANCE_PAUSE", DEFAULT_PAUSE)?,
        policy: RetentionPolicy { ages, queues },
        audit_partition_jobs: number(get, "HERALD_AUDIT_PARTITION_JOBS", DEFAULT_PARTITION_JOBS)?,
        audit_partitions_ahead: number(
            get,
            "HERALD_AUDIT_PARTITIONS_AHEAD",
            DEFAULT_PARTITIONS_AHEAD,
        )?,
    })
}

/// Parses `queue/class=age,…` (module docs).
fn queue_overrides(
    spec: &str,
) -> Result<BTreeMap<String, BTreeMap<RetentionClass, Duration>>, ConfigError> {
    let fail = |reason: String| invalid(QUEUES_VAR, spec, &reason);
    let mut out: BTreeMap<String, BTreeMap<RetentionClass, Duration>> = BTreeMap::new();
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (target, age) = part.split_once('=').ok_or_else(|| {
            fail(format!(
                "{part:?} is not queue/class=age (e.g. billing/succeeded=30d)"
            ))
        })?;
        let (queue, class) = target.trim().rsplit_once('/').ok_or_else(|| {
            fail(format!(
                "{part:?} is not queue/class=age (e.g. billing/succeeded=30d)"
            ))
        })?;
        herald_jobs::rules::check_queue(queue).map_err(|rule| fail(rule.to_string()))?;
        let class = RetentionClass::ALL
            .into_iter()
            .filter(|c| c.per_queue())
            .find(|c| c.as_str() == class.trim())
            .ok_or_else(|| {
                fail(format!(
                    "{part:?}: the class is one of succeeded, dead, cancelled, failed_attempts"
                ))
            })?;
        let age = parse_duration_within(age, AGE_RANGE.0..=AGE_RANGE.1).map_err(|e| {
            fail(format!(
                "{part:?}: the age is a duration from {} to {} ({e})",
                format_duration(AGE_RANGE.0),
                format_duration(AGE_RANGE.1)
            ))
        })?;
        if out
            .entry(queue.to_owned())
            .or_default()
            .insert(class, age)
            .is_some()
        {
            return Err(fail(format!("{queue}/{} is set twice", class.as_str())));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<RetentionConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        from_lookup(&|k: &str| map.get(k).cloned())
    }

    const DAY: Duration = Duration::from_secs(86_400);

    #[test]
    fn defaults_keep_successes_three_days_failures_a_month_and_logs_a_year() {
        let cfg = read(&[]).unwrap_or_else(|e| panic!("{e}"));
        let p = &cfg.policy;
        let age = |c| p.class_age(c);
        assert_eq!(age(RetentionClass::Succeeded).age, 3 * DAY);
        for c in [
            RetentionClass::Dead,
            RetentionClass::Cancelled,
            RetentionClass::FailedAttempts,
        ] {
            assert_eq!(age(c).age, 30 * DAY, "{c:?}");
        }
        assert_eq!(age(RetentionClass::OperatorActions).age, 365 * DAY);
        assert_eq!(age(RetentionClass::MaintenanceRuns).age, 365 * DAY);
        assert!(RetentionClass::ALL.iter().all(|c| !age(*c).configured));
        assert!(cfg.enabled);
        assert_eq!(
            (cfg.interval, cfg.batch_size, cfg.pause),
            (Duration::from_secs(300), 1000, Duration::from_millis(100))
        );
        assert_eq!(
            (cfg.audit_partition_jobs, cfg.audit_partitions_ahead),
            (1_000_000, 2)
        );
    }

    #[test]
    fn configured_ages_and_queue_overrides_apply_where_they_say() {
        let cfg = read(&[
            ("HERALD_RETENTION_SUCCEEDED", "12h"),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/succeeded=30d, billing/dead=365d,bulk.v2:x-y/failed_attempts=1h",
            ),
            ("HERALD_MAINTENANCE_ENABLED", "false"),
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let p = &cfg.policy;
        let succeeded = p.class_age(RetentionClass::Succeeded);
        assert_eq!(
            (succeeded.age, succeeded.configured),
            (12 * 3600 * Duration::from_secs(1), true)
        );
        assert_eq!(p.age_in(RetentionClass::Succeeded, "billing"), 30 * DAY);
        assert_eq!(
            p.age_in(RetentionClass::Succeeded, "other"),
            Duration::from_secs(12 * 3600)
        );
        assert_eq!(p.age_in(RetentionClass::Dead, "billing"), 365 * DAY);
        assert_eq!(
            p.age_in(RetentionClass::FailedAttempts, "bulk.v2:x-y"),
            Duration::from_secs(3600)
        );
        assert_eq!(
            p.min_age(RetentionClass::FailedAttempts),
            Duration::from_secs(3600)
        );
        assert_eq!(
            p.min_age(RetentionClass::Succeeded),
            Duration::from_secs(12 * 3600)
        );
        assert!(!cfg.enabled);
    }

    #[test]
    fn bad_retention_settings_fail_at_start_up_naming_the_variable_and_what_it_accepts() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "HERALD_RETENTION_SUCCEEDED",
                "soon",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_DEAD",
                "0s",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_CANCELLED",
                "500ms",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_FAILED_ATTEMPTS",
                "36501d",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_OPERATOR_ACTIONS",
                "-1d",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_MAINTENANCE_RUNS",
                "1y",
                "a duration from 1s to 36500d",
            ),
            (
                "HERALD_MAINTENANCE_INTERVAL",
                "8d",
                "a duration from 10ms to 7d",
            ),
            ("HERALD_MAINTENANCE_PAUSE", "2m", "a duration from 0s to 1m"),
            (
                "HERALD_MAINTENANCE_BATCH",
                "0",
                "a whole number from 1 to 10000",
            ),
            (
                "HERALD_MAINTENANCE_BATCH",
                "10001",
                "a whole number from 1 to 10000",
            ),
            ("HERALD_MAINTENANCE_ENABLED", "yes", "true or false"),
            (
                "HERALD_AUDIT_PARTITION_JOBS",
                "9",
                "a whole number from 10 to 1000000000",
            ),
            (
                "HERALD_AUDIT_PARTITIONS_AHEAD",
                "101",
                "a whole number from 0 to 100",
            ),
            (
                "HERALD_RETENTION_QUEUES",
                "billing=30d",
                "is not queue/class=age",
            ),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/succeeded",
                "is not queue/class=age",
            ),
            ("HERALD_RETENTION_QUEUES", "bad queue/dead=1d", "queue"),
            ("HERALD_RETENTION_QUEUES", "/dead=1d", "queue"),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/operator_actions=1d",
                "the class is one of",
            ),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/running=1d",
                "the class is one of",
            ),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/dead=0s",
                "the age is a duration from 1s to 36500d",
            ),
            (
                "HERALD_RETENTION_QUEUES",
                "billing/dead=1d,billing/dead=2d",
                "billing/dead is set twice",
            ),
        ];
        for (name, value, expected) in cases {
            match read(&[(name, value)]) {
                Err(ConfigError::Invalid {
                    name: got, reason, ..
                }) => {
                    assert_eq!(got, *name, "{name}={value}");
                    assert!(reason.contains(expected), "{name}={value}: {reason}");
                }
                other => panic!("{name}={value} was accepted or misreported: {other:?}"),
            }
        }
    }
}
