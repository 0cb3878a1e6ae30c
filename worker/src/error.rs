//! [`RunError`]: why the worker could not run. Its own module so that what `runtime`
//! starts (the e-mail channel, cron) can fail with it without importing `runtime`.

/// Why the worker could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The database could not be reached at start-up.
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    /// Migrations failed.
    #[error("cannot apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The worker could not register itself.
    #[error("cannot register the worker: {0}")]
    Register(#[source] sqlx::Error),
    /// A job context could not be built.
    #[error("cannot set up job {kind}: {message}")]
    Setup {
        /// The job type.
        kind: &'static str,
        /// Why.
        message: String,
    },
    /// A cron schedule names a job type this worker does not run, or its payload fails
    /// that type's validation.
    #[error("cron schedule {schedule:?}: {message}")]
    Cron {
        /// The schedule's name.
        schedule: String,
        /// Why.
        message: String,
    },
    /// The metrics endpoint could not be bound.
    #[error("cannot serve metrics on {addr}: {source}")]
    Metrics {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The apalis monitor reported worker errors.
    #[error("worker runtime failed: {0}")]
    Runtime(String),
}
