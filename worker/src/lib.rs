//! # herald-worker
//!
//! How and when Herald's jobs run, and how operators see them: the PostgreSQL queue
//! (an apalis-core backend of Herald's own), classification and per-attempt audit,
//! configuration and telemetry. The runner library: the `herald` command (package
//! `herald`) and embedding applications build on it.
//!
//! # Layout
//! - `config.rs`: the only environment reader; every variable and default
//! - `db.rs`: pool, migrations, database-health tracking
//! - `queries.rs`: every SQL statement by name (`queries/<area>/*.sql`)
//! - `queue/`: claim, the apalis backend, NOTIFY wake-ups, heartbeats and rescue
//! - `audit/`: the outcome decision, the attempt log event, the group-commit finisher
//! - `dispatch.rs`: the apalis service that runs one job
//! - `email.rs`: the `notify.email` channel's start-up (templates, SMTP, rate limit)
//! - `registry.rs`: registered job types
//! - `panic_guard.rs`: catching handler panics
//! - `sanitize.rs`: redaction and control-character escaping
//! - `fingerprint.rs`: the one definition of "the same failure" (normalised message hash)
//! - `cron/`: recurring jobs (`HERALD_CRON_FILE`), enqueued once per tick across workers
//! - `sentry/`: optional Sentry reporting of dead jobs and handler panics
//! - `runtime.rs`: [`runtime::run`]
//! - `telemetry/`: logs, OTLP traces, Prometheus metrics, the failure-rate alert

pub mod audit;
pub mod config;
pub mod cron;
pub mod db;
pub mod dispatch;
pub mod email;
pub mod fingerprint;
pub mod panic_guard;
pub(crate) mod queries;
pub mod queue;
pub mod registry;
pub mod runtime;
pub mod sanitize;
pub mod sentry;
pub mod stored_time;
pub(crate) mod supervise;
pub mod telemetry;

pub use config::WorkerConfig;
pub use registry::Registry;
