//! What the operator commands and the console's job actions share, below both (neither
//! `cli` nor `console` is imported here): the job filter and its query (`filter.rs`),
//! failures grouped by fingerprint (`failures.rs`), one job and its timeline (`job.rs`), a workflow as a tree (`workflow.rs`), and the one statement per batch that applies replay, cancel or purge and records it
//! in the operator-action row (`apply.rs`).

pub mod apply;
pub mod failures;
pub mod filter;
pub mod job;
pub mod workflow;

/// A shared operator step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OperatorError {
    /// The database refused or failed (what was being done, the error).
    #[error("cannot {0}: {1}")]
    Database(&'static str, #[source] sqlx::Error),
}
