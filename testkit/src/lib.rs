//! # herald-testkit
//!
//! The fixtures Herald's demo and tests run against, none of them part of the runner:
//!
//! - [`private_pg`]: a private PostgreSQL instance (initdb, start, reuse, stop) under a
//!   home folder of its own;
//! - [`smtp_sink`]: a local SMTP server that accepts, defers or rejects by recipient and
//!   keeps what it received;
//! - [`receiver`]: a local webhook receiver whose endpoints succeed, fail transiently,
//!   rate limit or fail permanently, verifying Standard Webhooks signatures.
//!
//! # Layout
//! - `private_pg/`: the private PostgreSQL (`cluster.rs`, `command.rs`, `pid.rs`)
//! - `smtp_sink.rs`: the SMTP sink
//! - `receiver.rs`: the webhook receiver

pub mod private_pg;
pub mod receiver;
pub mod smtp_sink;
