//! `herald console`: serves the web console and its JSON API (`console/`), or adds a
//! console user.
//!
//! | command | what it does |
//! |---|---|
//! | `herald console [--addr 127.0.0.1:8080] [--insecure-cookie] [--request-timeout 30s] [--header-timeout 10s] [--metrics-addr ADDR]` | serves the console until SIGINT/SIGTERM (and its Prometheus metrics on `http://ADDR/metrics`) |
//! | `herald console add-user NAME --role viewer\|operator` | adds a user with a generated password, printed once (never a built-in default; Herald keeps only its Argon2id hash) |

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use super::{CliError, Context, one_line};
use crate::console::auth::{generate_password, hash_password};
use crate::console::metrics::{self, ConsoleMetrics};
use crate::console::sessions::Role;
use crate::console::{ConsoleState, router, upkeep};
use herald_worker::config::{DurationError, parse_duration_within};

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
    /// How long a connection may take to send a request's head (new or idle
    /// keep-alive connections); past it the connection is closed (`10s`).
    #[arg(long, default_value = "10s", value_parser = parse_timeout)]
    pub header_timeout: Duration,
    /// Serve the console's Prometheus metrics on http://<ADDR>/metrics, a listener of
    /// its own (no session needed: keep it off public networks).
    #[arg(long, value_name = "ADDR", env = "HERALD_CONSOLE_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// A trace link template for job details: `{trace_id}` is replaced, e.g.
    /// `http://jaeger:16686/trace/{trace_id}` (Jaeger) or a Grafana Explore URL (Tempo).
    #[arg(long, env = "HERALD_TRACE_URL", value_parser = parse_trace_url)]
    pub trace_url: Option<String>,
}

/// `herald console` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConsoleCommand {
    /// Add a console user with a generated password (printed once).
    AddUser(AddUserArgs),
}

/// Arguments of `herald console add-user`.
#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// The login name (letters, digits, `.`, `_`, `@`, `-`; at most 64).
    pub username: String,
    /// What the user may do: `viewer` reads, `operator` also replays and cancels.
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Reads everything.
    Viewer,
    /// Reads, replays and cancels.
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Operator => Self::Operator,
        }
    }
}

fn parse_trace_url(text: &str) -> Result<String, String> {
    let ok = (text.starts_with("http://") || text.starts_with("https://"))
        && text.contains("{trace_id}");
    ok.then(|| text.to_owned())
        .ok_or_else(|| "an http(s) URL holding {trace_id}".to_owned())
}

fn parse_timeout(text: &str) -> Result<Duration, DurationError> {
    parse_duration_within(text, Duration::from_millis(100)..=Duration::from_secs(600))
}

/// Runs `herald console`: a subcommand, or serving until SIGINT/SIGTERM.
pub async fn run(args: ConsoleArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    if let Some(ConsoleCommand::AddUser(add)) = args.command {
        return add_user(add, ctx).await;
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
        trace_url: args.trace_url,
        header_timeout: args.header_timeout,
        metrics: Arc::new(ConsoleMetrics::new()),
    });
    let addr = listener.local_addr().unwrap_or(args.addr);
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let metrics_server = match args.metrics_addr {
        Some(at) => {
            let metrics_listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| CliError::Failed(format!("cannot listen on {at}: {e}")))?;
            let bound = metrics_listener.local_addr().unwrap_or(at);
            tracing::info!(metrics.addr = %bound, "serving console metrics on /metrics");
            writeln!(ctx.out, "metrics: http://{bound}/metrics")?;
            let mut stopped = stopped.clone();
            let shutdown = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            Some(tokio::spawn(metrics::serve(
                metrics_listener,
                state.metrics.clone(),
                shutdown,
            )))
        }
        None => None,
    };
    let mut sweeping = stopped.clone();
    let upkeep = tokio::spawn(upkeep::run(
        state.pool.clone(),
        upkeep::SESSION_SWEEP,
        async move {
            let _ = sweeping.wait_for(|s| *s).await;
        },
    ));
    tracing::info!(console.addr = %addr, "console listening");
    writeln!(ctx.out, "console: http://{addr}/")?;
    ctx.out.flush()?;
    let served = router::serve(listener, state, herald_worker::runtime::shutdown_signal()).await;
    let _ = stop.send(true);
    let _ = upkeep.await;
    if let Some(server) = metrics_server {
        match server.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error.message = %e, "console metrics endpoint failed"),
            Err(e) => tracing::warn!(error.message = %e, "console metrics endpoint stopped"),
        }
    }
    served.map_err(|e| CliError::Failed(format!("console stopped: {e}")))?;
    tracing::info!("console stopped");
    Ok(())
}

/// Whether `name` is a valid username (the table's CHECK, said early).
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// Adds the user and prints `username`, role and the generated password.
pub async fn add_user(args: AddUserArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    if !valid(&args.username) {
        return Err(CliError::Usage(
            "a username is 1-64 letters, digits, '.', '_', '@' or '-'".to_owned(),
        ));
    }
    let role = match Role::from(args.role) {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
    };
    let password = generate_password();
    let hash = hash_password(&password).map_err(|e| CliError::Failed(e.to_string()))?;
    let pool = ctx.pool().await?;
    let id = sqlx::query_file_scalar!("queries/console/insert_user.sql", args.username, hash, role)
        .fetch_optional(&pool)
        .await
        .map_err(|e| CliError::Failed(format!("cannot add the user: {}", one_line(&e))))?;
    if id.is_none() {
        return Err(CliError::Failed(format!(
            "user {} exists already; nothing changed",
            args.username
        )));
    }
    tracing::info!(
        target: "herald::audit",
        { console.user = %args.username, console.role = role },
        "console user added"
    );
    writeln!(ctx.out, "user:     {}", args.username)?;
    writeln!(ctx.out, "role:     {role}")?;
    writeln!(ctx.out, "password: {password}")?;
    writeln!(ctx.out, "(shown once; Herald keeps only its hash)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_table_rule() {
        for ok in ["alice", "a.b_c@d-e", &"x".repeat(64)] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "a b", "<script>", &"x".repeat(65), "é"] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
