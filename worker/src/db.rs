//! The connection pool, migrations, and the database-health tracker.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tracing::{error, info, warn};

use crate::sanitize::sanitize;

/// Opens a pool of `size` connections; a query waits at most `acquire_timeout` for one.
/// Fails when the first connection cannot be made.
pub async fn connect(
    url: &str,
    size: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    connect_with(url.parse()?, size, acquire_timeout).await
}

/// Like [`connect`], with parsed connect options.
pub async fn connect_with(
    options: sqlx::postgres::PgConnectOptions,
    size: u32,
    acquire_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(acquire_timeout)
        .connect_with(options)
        .await
}

/// Applies Herald's migrations (idempotent; concurrent callers serialise on sqlx's
/// advisory lock).
pub async fn migrate(pool: &PgPool) -> Result<(), sqlx::migrate::MigrateError> {
    sqlx::migrate!("../migrations").run(pool).await
}

/// Tracks whether the database is reachable, so an outage is logged once at ERROR when
/// it starts, once as a CRITICAL event (target `herald::alert`) when it lasts, and once
/// at INFO when it ends, however many queries fail meanwhile.
///
/// | seen | state before | logged |
/// |---|---|---|
/// | failure | reachable | ERROR "database unreachable…" (the outage starts) |
/// | failure | reachable, recovered less than [`SETTLE`] ago | WARN "…failed again while recovering" (the same outage resumes) |
/// | failure | outage longer than `critical_after` | one CRITICAL event per outage |
/// | success | outage | INFO "database reachable again" |
///
/// The settle window exists because a server that has just restarted leaves the pool
/// holding connections it already closed: the first queries after recovery can still
/// fail, and that is the tail of the same outage, not a new one.
#[derive(Debug)]
pub struct DbHealth {
    critical_after: Duration,
    outage: Mutex<Health>,
    observer: Option<Arc<dyn DbHealthObserver>>,
}

/// How long after an outage ends a new failure still counts as that outage.
pub const SETTLE: Duration = Duration::from_secs(10);

#[derive(Debug, Default)]
struct Health {
    outage: Option<Outage>,
    /// The last outage and when it ended, while inside [`SETTLE`].
    recovered: Option<(Outage, Instant)>,
}

/// What [`DbHealth::failed`] or [`DbHealth::ok`] logged (for tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthEvent {
    /// Nothing new: the state did not change.
    Quiet,
    /// An outage started (ERROR).
    OutageStarted,
    /// A failure right after recovery resumed the last outage (WARN).
    OutageResumed,
    /// The outage lasted past `critical_after` (CRITICAL).
    Critical,
    /// The database answered again (INFO).
    Recovered,
}

/// Told what [`DbHealth`] sees, to count it (the worker's metrics implement it), so the
/// database layer does not depend on telemetry.
pub(crate) trait DbHealthObserver: Send + Sync + std::fmt::Debug {
    /// A query timed out waiting for a pool connection.
    fn pool_timed_out(&self);
    /// The CRITICAL event `alert` was emitted.
    fn critical_event(&self, alert: &'static str);
}

#[derive(Debug, Clone, Copy)]
struct Outage {
    since: Instant,
    critical_sent: bool,
}

impl DbHealth {
    /// A tracker that raises the CRITICAL event after `critical_after` of outage.
    pub fn new(critical_after: Duration) -> Self {
        Self {
            critical_after,
            outage: Mutex::new(Health::default()),
            observer: None,
        }
    }

    /// Also tells `observer` of pool timeouts and CRITICAL events.
    pub(crate) fn with_observer(mut self, observer: Arc<dyn DbHealthObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Records a failed database operation `what`.
    pub(crate) fn failed(&self, what: &'static str, err: &sqlx::Error) -> HealthEvent {
        if let (sqlx::Error::PoolTimedOut, Some(m)) = (err, &self.observer) {
            m.pool_timed_out();
        }
        let Ok(mut health) = self.outage.lock() else {
            return HealthEvent::Quiet;
        };
        let health = &mut *health;
        match health.outage.as_mut() {
            None => match health.recovered.take() {
                Some((outage, ended)) if ended.elapsed() < SETTLE => {
                    warn!(
                        db.operation = what,
                        error.message = %sanitize(&err.to_string()),
                        recovered_ms = ended.elapsed().as_millis() as u64,
                        "database failed again while recovering; the same outage resumes"
                    );
                    health.outage = Some(outage);
                    HealthEvent::OutageResumed
                }
                _ => {
                    error!(
                        db.operation = what,
                        error.message = %sanitize(&err.to_string()),
                        "database unreachable; work pauses and resumes by itself when it returns"
                    );
                    health.outage = Some(Outage {
                        since: Instant::now(),
                        critical_sent: false,
                    });
                    HealthEvent::OutageStarted
                }
            },
            Some(o) if !o.critical_sent && o.since.elapsed() >= self.critical_after => {
                o.critical_sent = true;
                if let Some(m) = &self.observer {
                    m.critical_event("database_unreachable");
                }
                error!(
                    target: "herald::alert",
                    severity = "CRITICAL",
                    alert = "database_unreachable",
                    outage_secs = o.since.elapsed().as_secs(),
                    "database unreachable for too long"
                );
                HealthEvent::Critical
            }
            Some(_) => HealthEvent::Quiet,
        }
    }

    /// Records a successful database operation.
    pub(crate) fn ok(&self) -> HealthEvent {
        let Ok(mut health) = self.outage.lock() else {
            return HealthEvent::Quiet;
        };
        let Some(o) = health.outage.take() else {
            return HealthEvent::Quiet;
        };
        info!(
            outage_ms = o.since.elapsed().as_millis() as u64,
            "database reachable again; work resumes"
        );
        health.recovered = Some((o, Instant::now()));
        HealthEvent::Recovered
    }
}

/// Whether `err` says the server cannot serve anyone right now rather than that it
/// refused this statement: SQLSTATE class 08 (connection exception), 53 (insufficient
/// resources, e.g. too many connections) or 57 (operator intervention: shutting down,
/// starting up, connection terminated by an administrator). Such an error is an outage
/// to wait out, even though it arrives as a database error.
pub fn server_unavailable(err: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = err else {
        return false;
    };
    db.code().is_some_and(|code| {
        ["08", "53", "57"]
            .iter()
            .any(|class| code.starts_with(class))
    })
}

/// The backoff used while the database is unreachable: 100 ms doubling to 5 s, forever.
pub(crate) fn outage_backoff() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down() -> sqlx::Error {
        sqlx::Error::PoolTimedOut
    }

    #[test]
    fn an_outage_is_logged_once_however_many_queries_fail() {
        let health = DbHealth::new(Duration::from_secs(3600));
        assert_eq!(health.failed("claim", &down()), HealthEvent::OutageStarted);
        assert_eq!(health.failed("claim", &down()), HealthEvent::Quiet);
        assert_eq!(health.failed("rescue", &down()), HealthEvent::Quiet);
        assert_eq!(health.ok(), HealthEvent::Recovered);
        assert_eq!(health.ok(), HealthEvent::Quiet);
    }

    #[test]
    fn a_failure_right_after_recovery_resumes_the_same_outage() {
        // A restarted server leaves closed connections in the pool: the first queries
        // after recovery can fail; that is not a second outage.
        let health = DbHealth::new(Duration::ZERO);
        assert_eq!(health.failed("claim", &down()), HealthEvent::OutageStarted);
        assert_eq!(health.failed("claim", &down()), HealthEvent::Critical);
        assert_eq!(health.ok(), HealthEvent::Recovered);
        assert_eq!(health.failed("rescue", &down()), HealthEvent::OutageResumed);
        // The resumed outage keeps its CRITICAL event: it is not raised twice.
        assert_eq!(health.failed("rescue", &down()), HealthEvent::Quiet);
        assert_eq!(health.ok(), HealthEvent::Recovered);
    }

    #[test]
    fn a_failure_after_the_settle_window_is_a_new_outage() {
        let health = DbHealth::new(Duration::from_secs(3600));
        assert_eq!(health.failed("claim", &down()), HealthEvent::OutageStarted);
        assert_eq!(health.ok(), HealthEvent::Recovered);
        if let Ok(mut h) = health.outage.lock()
            && let Some((_, ended)) = h.recovered.as_mut()
            && let Some(earlier) = ended.checked_sub(SETTLE)
        {
            *ended = earlier;
        }
        assert_eq!(health.failed("claim", &down()), HealthEvent::OutageStarted);
    }
}
