//! Classification and audit: how an attempt's result becomes one state change and one
//! audit row, written together.
//!
//! - `outcome.rs`: `decide`, the pure mapping from result to transition
//! - `report.rs`: the one log event per attempt (DEBUG / INFO / WARN / ERROR)
//! - `recorded.rs`: the attempt pipeline after the commit: the one "attempt recorded"
//!   event and its observers (logging, metrics, the failure-rate alert, Sentry)
//! - `finisher.rs`: group commit of finished attempts, each ack resolved after its commit

pub mod finisher;
pub(crate) mod outcome;
pub(crate) mod recorded;
pub(crate) mod report;

pub(crate) use finisher::{AttemptKey, FinishError};
pub use finisher::{FinishRow, Finisher};
pub(crate) use outcome::{
    AttemptOutcome, AttemptResult, CancelEnding, CancelledBy, Failure, JobState, PanicReport,
    Transition, decide,
};
pub(crate) use recorded::{AttemptObserver, AttemptObservers, AttemptRecorded, RecordedJob};
