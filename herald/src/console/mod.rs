//! The web console: its pages, its JSON API and its live stream, served by `herald console`
//! (`cli/console.rs`) over axum. Nothing answers anonymously: every route but the login
//! needs a session.
//!
//! # Layout
//! - `router.rs`: routes, layers (metrics, request id, timeout, body limit)
//! - `serve.rs`: the connection loop (header timeout, graceful shutdown)
//! - `metrics.rs`: the console's Prometheus metrics and their `/metrics` listener
//! - `upkeep.rs`: expired sessions deleted periodically
//! - `errors.rs`: the one error shape and its codes; the one place an internal failure is logged
//! - `extract.rs`: the JSON body extractor, its rejections in that shape
//! - `auth.rs`: passwords (Argon2id), login with the failed-login throttle, logout
//! - `sessions.rs`: the session cookie and the `Session`/`Operator` extractors
//! - `csrf.rs`: the CSRF token and its check
//! - `audit.rs`: the authentication audit (`herald.console_events`)
//! - `api/`: one file per resource
//! - `stream/`: the live stream (server-sent events) and its one poller per process
//! - `pages/`: the web pages (a small script reading the API), embedded in the binary
//!
//! SQL: `herald/queries/console/*.sql` (see `queries.rs`). This module never imports
//! `cli` (the command imports it).

use std::time::Duration;

use std::sync::Arc;

use sqlx::PgPool;

use metrics::ConsoleMetrics;

pub mod api;
pub mod audit;
pub mod auth;
pub mod csrf;
pub mod errors;
pub mod extract;
pub mod metrics;
pub mod pages;
pub mod router;
pub mod serve;
pub mod sessions;
pub mod stream;
pub mod upkeep;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    /// The database.
    pub pool: PgPool,
    /// Whether the session cookie is `Secure` (true unless `--insecure-cookie`).
    pub secure_cookie: bool,
    /// The request timeout.
    pub request_timeout: Duration,
    /// The trace link template (`{trace_id}` replaced), if any (`--trace-url`).
    pub trace_url: Option<String>,
    /// How long a connection may take to send a request head (`--header-timeout`).
    pub header_timeout: Duration,
    /// The console's metrics (`--metrics-addr` serves them).
    pub metrics: Arc<ConsoleMetrics>,
}
