//! `herald console`: the web console's JSON API (and, later, its pages) from the same
//! binary, over axum. Nothing answers anonymously: every route but the login needs a
//! session.
//!
//! | command | what it does |
//! |---|---|
//! | `herald console [--addr 127.0.0.1:8080] [--insecure-cookie] [--request-timeout 30s]` | serves the console until SIGINT/SIGTERM |
//! | `herald console add-user NAME --role viewer\|operator` | adds a user with a generated password, printed once |
//!
//! # Layout
//! - `router.rs`: routes, layers (request id, timeout, body limit), serving
//! - `errors.rs`: the one error shape and its codes; the one place an internal failure is logged
//! - `extract.rs`: the JSON body extractor, its rejections in that shape
//! - `auth.rs`: passwords (Argon2id), login with the failed-login throttle, logout
//! - `sessions.rs`: the session cookie and the `Session`/`Operator` extractors
//! - `csrf.rs`: the CSRF token and its check
//! - `audit.rs`: the authentication audit (`herald.console_events`)
//! - `users.rs`: `herald console add-user`
//! - `api/`: one file per resource
//!
//! SQL: `herald/queries/console/*.sql` (see `queries.rs`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use sqlx::PgPool;

use crate::cli::{CliError, Context};
use herald_worker::config::{DurationError, parse_duration_within};

pub mod api;
pub mod audit;
pub mod auth;
pub mod csrf;
pub mod errors;
pub mod extract;
pub mod router;
pub mod sessions;
pub mod users;

/// What every request handler shares.
#[derive(Debug, Clone)]
pub struct ConsoleState {
    /// The database.
    pub pool: PgPool,
    /// Whether the session cookie is `Secure` (true unless `--insecure-cookie`).
    pub secure_cookie: bool,
    /// The request timeout.
    pub request_timeout: Duration,
}

/// Arguments of `herald console`.
#[derive(Debug, Args)]
#[command(
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  herald console add-user alice --role operator
  herald console --addr 127.0.0.1:8080
  herald console --addr 127.0.0.1:8080 --insecure-cookie   # plain http on loopback only"
)]
pub struct ConsoleArgs {
    /// Manage users instead of serving.
    #[command(subcommand)]
    pub command: Option<ConsoleCommand>,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Send the session cookie without `Secure`, for a browser on plain http: only
    /// with a loopback `--addr`.
    #[arg(long)]
    pub insecure_cookie: bool,
    /// How long a request may take, reading its body included (`30s`, `2m`).
    #[arg(long, default_value = "30s", value_parser = parse_timeout)]
    pub request_timeout: Duration,
}

/// `herald console` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Add a console user with a generated password (printed once).
    AddUser(users::AddUserArgs),
}

fn parse_timeout(text: &str) -> Result<Duration, DurationError> {
    parse_duration_within(text, Duration::from_millis(100)..=Duration::from_secs(600))
}

/// Runs `herald console`: a subcommand, or serving until SIGINT/SIGTERM.
pub async fn run(args: ConsoleArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    if let Some(ConsoleCommand::AddUser(add)) = args.command {
        return users::add_user(add, ctx).await;
    }
    if args.insecure_cookie && !args.addr.ip().is_loopback() {
        return Err(CliError::Usage(
            "--insecure-cookie needs a loopback --addr (127.0.0.1, ::1)".to_owned(),
        ));
    }
    let pool = ctx.pool().await?;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .map_err(|e| CliError::Failed(format!("cannot listen on {}: {e}", args.addr)))?;
    let state = Arc::new(ConsoleState {
        pool,
        secure_cookie: !args.insecure_cookie,
        request_timeout: args.request_timeout,
    });
    let addr = listener.local_addr().unwrap_or(args.addr);
    tracing::info!(console.addr = %addr, "console listening");
    writeln!(ctx.out, "console: http://{addr}/")?;
    router::serve(listener, state, herald_worker::runtime::shutdown_signal())
        .await
        .map_err(|e| CliError::Failed(format!("console stopped: {e}")))?;
    tracing::info!("console stopped");
    Ok(())
}
