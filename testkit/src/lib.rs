//! # herald-testkit
//!
//! Testing Herald jobs, as `Oban.Testing`, River's `rivertest` and `Sidekiq::Testing`
//! test theirs, plus the fixtures Herald's own demo and tests run against.
//!
//! | helper | what it does | database |
//! |---|---|---|
//! | [`TestDatabase`] | a fresh database per test with Herald's migrations (`HERALD_TEST_DATABASE_URL`, `DATABASE_URL`, else a private PostgreSQL) | creates one |
//! | [`perform`] | runs one job's handler inline and returns the worker's verdict ([`Performed`]: succeeded, retry with code and delay, dead with code, class and reason) | none |
//! | [`drain`] | runs due jobs through the worker's attempt pipeline until none is due, and returns every attempt as audited ([`Drained`]) | yes |
//! | [`assert_enqueued`], [`refute_enqueued`], [`enqueued_jobs`] | what is in the queue, by type, queue, state and payload ([`JobFilter`]) | yes |
//!
//! ```
//! use herald_jobs::{AttemptInfo, ErrorCode, Job, JobError};
//! use herald_testkit::{Performed, perform};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Ping { host: String }
//!
//! impl Job for Ping {
//!     const KIND: &'static str = "net.ping";
//!     type Context = ();
//!     async fn perform(self, (): (), _: AttemptInfo) -> Result<(), JobError> {
//!         Err(JobError::not_found(self.host))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let verdict = perform(&Ping { host: "gone.example".into() }, ()).await?;
//! assert!(matches!(verdict, Performed::Dead { code: ErrorCode::NotFound, .. }));
//! # Ok(()) }
//! ```
//!
//! The testing API is the default cargo feature `testing`; without it (as the `herald`
//! binary's demo uses the crate) only the fixtures are built.
//!
//! The fixtures: [`private_pg`] (a private PostgreSQL instance under a home folder of
//! its own), [`smtp_sink`] (a local SMTP server that accepts, defers or rejects by
//! recipient), [`receiver`] (a local webhook receiver verifying Standard Webhooks
//! signatures).
//!
//! # Layout
//! - `database.rs`: [`TestDatabase`], the server it is created on
//! - `perform.rs`: [`perform`], inline attempts
//! - `drain.rs`: [`drain`], in-process attempts through the worker's pipeline
//! - `enqueued.rs`: [`JobFilter`], [`assert_enqueued`], [`refute_enqueued`]
//! - `queries/*.sql`: the statements `drain` and the assertions run (below)
//! - `private_pg/`: the private PostgreSQL (`cluster.rs`, `command.rs`, `pid.rs`)
//! - `smtp_sink.rs`: the SMTP sink
//! - `receiver.rs`: the webhook receiver
//!
//! # SQL
//!
//! Every statement is a named file in `testkit/queries/`, checked at compile time
//! (`sqlx::query_file!` / `query_file_as!`) against the offline data committed in
//! `testkit/.sqlx/`, so building the testkit needs no database whatever `DATABASE_URL`
//! says (its `sqlx.toml` reads `HERALD_SQLX_DATABASE_URL`, which only
//! `scripts/sqlx-prepare` sets). All of them are behind the `testing` feature.
//!
//! | File | Run by | Result |
//! |---|---|---|
//! | `make_scheduled_due.sql` | [`drain`] with [`DrainOptions::with_scheduled`] | — |
//! | `due_by_queue.sql` | [`drain`], each round | (queue, job types, due jobs) |
//! | `attempts_by_worker.sql` | [`drain`], its result | the audit rows it wrote |
//! | `find_jobs.sql` | [`assert_enqueued`], [`refute_enqueued`], [`enqueued_jobs`] | [`EnqueuedJob`] rows |
//! | `unaudited_attempts.sql` | [`database::unaudited_attempts`] | (job id, attempts, audit rows) |
//!
//! Conventions as in Herald's runner (`worker/src/queries.rs`): a column the macros
//! would make `Option` but that cannot be NULL is named `AS "col!"`; the borrowed list
//! of states `find_jobs.sql` filters on is bound `as _` (the statement casts it,
//! `$3::text[]`).

#[cfg(feature = "testing")]
pub mod database;
#[cfg(feature = "testing")]
pub mod drain;
#[cfg(feature = "testing")]
pub mod enqueued;
#[cfg(feature = "testing")]
pub mod perform;
pub mod private_pg;
pub mod receiver;
pub mod smtp_sink;

#[cfg(feature = "testing")]
pub use database::{TestDatabase, TestDatabaseError};
#[cfg(feature = "testing")]
pub use drain::{DrainError, DrainOptions, Drained, DrainedAttempt, drain};
#[cfg(feature = "testing")]
pub use enqueued::{
    AttemptOutcome, EnqueuedJob, JobFilter, JobState, assert_enqueued, enqueued_jobs,
    refute_enqueued,
};
#[cfg(feature = "testing")]
pub use perform::{
    DeadReason, PerformOptions, Performed, perform, perform_registered, perform_with,
};
