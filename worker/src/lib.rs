//! # herald-worker
//!
//! How and when Herald's jobs run, and how operators see them: the PostgreSQL queue
//! (an apalis-core backend of Herald's own), classification and per-attempt audit,
//! configuration and telemetry. The runner library: the `herald` command (package
//! `herald`) and embedding applications build on it.
//!
//! # Layout
//! Listed from the bottom up: a module uses only modules above it in this list (the
//! leaves `sanitize`, `fingerprint`, `stored_time`, `queries`, `registry` first), never
//! one below, so the top-level modules form no cycle. `scripts/check-module-cycles`
//! checks it in CI (a module and its own children may use each other).
//! - `sanitize.rs`: redaction and control-character escaping
//! - `fingerprint.rs`: the one definition of "the same failure" (normalised message hash)
//! - `stored_time.rs`: reading stored times totally (a poison row fails only itself)
//! - `queries.rs`: the runner's SQL statements by name (`queries/<area>/*.sql`; the
//!   operator commands' and the demo's are in the `herald` crate)
//! - `registry.rs`: registered job types
//! - `config.rs`, `config/`: the only environment reader; every variable and default,
//!   and the settings types of every part (telemetry, Sentry, cron file, e-mail, webhook)
//! - `error.rs`: [`runtime::RunError`], why the worker could not run
//! - `db.rs`: pool, migrations, database-health tracking (counted through an observer)
//! - `audit/`: the outcome decision, the group-commit finisher, and the attempt pipeline
//!   after the commit (`recorded.rs`: the one "attempt recorded" event, its observers,
//!   the log event of `report.rs`)
//! - `panic_guard.rs`: catching handler panics
//! - `sentry/`: optional Sentry reporting of dead jobs and handler panics (an observer)
//! - `telemetry/`: logs, OTLP traces, Prometheus metrics, the failure-rate alert (the
//!   last two are observers)
//! - `queue/`: claim, the apalis backend, NOTIFY wake-ups, heartbeats and rescue
//! - `dispatch.rs`: the apalis service that runs one job
//! - `email.rs`: the `notify.email` channel's start-up (templates, SMTP, rate limit)
//! - `maintenance/`: retention: the maintenance leader prunes old history in batches and
//!   records every run
//! - `cron/`: recurring jobs (`HERALD_CRON_FILE`), enqueued once per tick across workers
//! - `supervise.rs`: restarting a queue worker that dies
//! - `runtime.rs`: [`runtime::run`]; builds the attempt observers at start-up
//! - `testing.rs` (feature `testing`): the in-process door `herald-testkit` builds on
//!
//! # Public surface
//! `pub` is what an embedding application, the `herald` crate or the integration tests
//! use; everything else is `pub(crate)`, and `unreachable_pub` (below) keeps it so:
//! [`WorkerConfig`] and [`config`]'s readers, [`Registry`], [`runtime`] (`run`,
//! `run_with_pool`, `default_registry`, `shutdown_signal`), [`db`] (connect, migrate,
//! outage tracking), [`telemetry`] (`init`, `Telemetry`), [`sanitize`], [`fingerprint`],
//! [`stored_time`], [`maintenance::policy_json`] (what `herald retention` shows); with
//! the cargo feature `testing`, `testing` (inline and in-process attempts for
//! `herald-testkit`). [`audit::Finisher`], [`queue::claim::release`] and
//! [`telemetry::metrics::NAMES`] are public only for the integration tests.

#![warn(unreachable_pub)]

pub mod audit;
pub mod config;
pub(crate) mod cron;
pub mod db;
pub(crate) mod dispatch;
pub(crate) mod email;
pub(crate) mod error;
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
#[cfg(feature = "testing")]
pub mod testing;

pub use config::WorkerConfig;
pub use registry::Registry;
