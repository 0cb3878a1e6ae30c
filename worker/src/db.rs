//! The connection pool, migrations, and the database-health tracker.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tracing::{error, info};

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
#[derive(Debug)]
pub struct DbHealth {
    critical_after: Duration,
    outage: Mutex<Option<Outage>>,
    observer: Option<Arc<dyn DbHealthObserver>>,
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
            outage: Mutex::new(None),
            observer: None,
        }
    }

    /// Also tells `observer` of pool timeouts and CRITICAL events.
    pub(crate) fn with_observer(mut self, observer: Arc<dyn DbHealthObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Records a failed database operation `what`.
    pub(crate) fn failed(&self, what: &'static str, err: &sqlx::Error) {
        if let (sqlx::Error::PoolTimedOut, Some(m)) = (err, &self.observer) {
            m.pool_timed_out();
        }
        let Ok(mut outage) = self.outage.lock() else {
            return;
        };
        match outage.as_mut() {
            None => {
                error!(
                    db.operation = what,
                    error.message = %sanitize(&err.to_string()),
                    "database unreachable; work pauses and resumes by itself when it returns"
                );
                *outage = Some(Outage {
                    since: Instant::now(),
                    critical_sent: false,
                });
            }
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
            }
            Some(_) => {}
        }
    }

    /// Records a successful database operation.
    pub(crate) fn ok(&self) {
        let Ok(mut outage) = self.outage.lock() else {
            return;
        };
        if let Some(o) = outage.take() {
            info!(
                outage_ms = o.since.elapsed().as_millis() as u64,
                "database reachable again; work resumes"
            );
        }
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
