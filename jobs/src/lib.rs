//! # herald-jobs
//!
//! What Herald runs, and the only crate a producer needs:
//!
//! - [`Job`]: the trait every job type implements (a stable [`Job::KIND`], its queue,
//!   attempt budget and timeout);
//! - [`JobError`], [`ErrorCode`] and [`FailureClass`]: the error taxonomy, where every
//!   failure has a stable machine code and is either retryable or terminal;
//! - [`RetryPolicy`]: the durable retry schedule (exponential backoff, capped, with jitter);
//! - [`enqueue`](crate::enqueue): the typed enqueue client, also usable inside the
//!   caller's own transaction;
//! - [`rules`]: the enqueue rules every producer path applies (Rust, CLI, cron, SQL);
//! - `notify`: the notification jobs Herald ships (`notify.webhook`, `notify.email`),
//!   behind the default-on cargo feature `notify`.
//!
//! This crate reads no environment variables and starts no runtime.
//!
//! # Features
//! - `notify` (default): the built-in handlers and the SMTP/HTTP stacks they need
//!   (lettre, minijinja, reqwest). A producer that only enqueues its own job types
//!   depends on `herald-jobs` with `default-features = false` and builds none of them.
//!   The payload types [`WebhookJob`](notify::WebhookJob) and
//!   [`EmailJob`](notify::EmailJob) validate with those stacks' own parsers (URL,
//!   mailbox), so a producer that enqueues them keeps the feature on.
//!
//! # Layout
//! - `job.rs`: the [`Job`] trait and [`AttemptInfo`]
//! - `cancel.rs`: [`Cancellation`], the signal of an operator's cancel (its contract table)
//! - `error.rs`: [`JobError`], codes and classes
//! - `retry.rs`: [`RetryPolicy`]
//! - `enqueue.rs`: [`NewJob`], [`enqueue()`], [`enqueue_in()`]
//! - `batch.rs`: [`enqueue_many()`], [`enqueue_many_in()`] (one statement per batch)
//! - `traceparent.rs`: [`Traceparent`], the W3C `traceparent` (formatted and parsed here only)
//! - `rules.rs`: [`rules`], what a producer may enqueue (the contract table; SQL mirrors it)
//! - `notify/`: one file per notification job (feature `notify`)

pub mod batch;
pub mod cancel;
pub mod enqueue;
pub mod error;
pub mod job;
#[cfg(feature = "notify")]
pub mod notify;
pub mod retry;
pub mod rules;
pub mod traceparent;
pub mod workflow;

pub use batch::{enqueue_many, enqueue_many_in};
pub use cancel::Cancellation;
pub use enqueue::{EnqueueError, Enqueued, NewJob, enqueue, enqueue_in};
pub use error::{ErrorCode, FailureClass, JobError};
pub use job::{AttemptInfo, Job};
pub use retry::RetryPolicy;
pub use traceparent::Traceparent;
pub use workflow::{
    Batch, BatchEvent, Chain, EnqueuedBatch, EnqueuedChain, enqueue_batch, enqueue_batch_in,
    enqueue_chain_in,
};
