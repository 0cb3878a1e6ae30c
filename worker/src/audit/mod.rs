//! Classification and audit: how an attempt's result becomes one state change and one
//! audit row, written together.
//!
//! - `outcome.rs`: `decide`, the pure mapping from result to transition
//! - `report.rs`: the one log event per attempt (DEBUG / INFO / WARN / ERROR)
//! - `finisher.rs`: group commit of finished attempts, each ack resolved after its commit

pub mod finisher;
pub(crate) mod outcome;
pub(crate) mod report;

pub(crate) use finisher::{AttemptKey, FinishError};
pub use finisher::{FinishRow, Finisher};
pub(crate) use outcome::{
    AttemptOutcome, AttemptResult, Failure, JobState, PanicReport, Transition, decide,
};
