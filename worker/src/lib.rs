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
//! - `queries.rs`: the runner's SQL statements by name (`queries/<area>/*.sql`; the
//!   operator commands' and the demo's are in the `herald` crate)
//! - `queue/`: claim, the apalis backend, NOTIFY wake-ups, heartbeats and rescue
//! - `audit/`: the outcome decision, the attempt log event, the group-commit finisher
//! - `dispatch.rs`: the apalis service that runs one job
//! - `email.rs`: the `notify.email` channel's start-up (templates, SMTP, rate limit)
//! - `registry.rs`: registered job types
//! - `panic_guard.rs`: catching handler panics
//! - `sanitize.rs`: redaction and control-character escaping
//! - `fingerprint.rs`: the one definition of "the same failure" (normalised message hash)
//! - `maintenance/`: retention: the maintenance leader prunes old history in batches and
//!   records every run
//! - `cron/`: recurring jobs (`HERALD_CRON_FILE`), enqueued once per tick across workers
//! - `sentry/`: optional Sentry reporting of dead jobs and handler panics
//! - `runtime.rs`: [`runtime::run`]
//! - `telemetry/`: logs, OTLP traces, Prometheus metrics, the failure-rate alert
//!
//! # Public surface
//! `pub` is what an embedding application, the `herald` crate or the integration tests
//! use; everything else is `pub(crate)`, and `unreachable_pub` (below) keeps it so:
//! [`WorkerConfig`] and [`config`]'s readers, [`Registry`], [`runtime`] (`run`,
//! `run_with_pool`, `default_registry`, `shutdown_signal`), [`db`] (connect, migrate,
//! outage tracking), [`telemetry`] (`init`, `Telemetry`), [`sanitize`], [`fingerprint`],
//! [`stored_time`], [`maintenance::policy_json`] (what `herald retention` shows).
//! [`audit::Finisher`], [`queue::claim::release`] and
//! [`telemetry::metrics::NAMES`] are public only for the integration tests.

#![warn(unreachable_pub)]

pub mod audit;
pub mod config;
pub(crate) mod cron;
pub mod db;
pub(crate) mod dispatch;
pub(crate) mod email;
pub mod fingerprint;
pub mod maintenance;
pub(crate) mod panic_guard;
pub(crate) mod queries;
pub mod queue;
pub mod registry;
pub mod runtime;
pub mod sanitize;
pub(crate) mod sentry;
pub mod stored_time;
pub(crate) mod supervise;
pub mod telemetry;

pub use config::WorkerConfig;
pub use registry::Registry;
