//! The demo's web console: `herald console` served in-process on the demo's database
//! while the demo runs, with a login generated for this run (a `demo-xxxxxx` operator
//! and a random password, printed once; never a built-in default).
//!
//! The console stops when the demo ends, unless the demo's stdin is a terminal or
//! `--keep-console` is given: then it keeps serving until Ctrl-C (SIGINT) or SIGTERM, so
//! the pages can be explored after the summary. Non-interactive runs (CI, a pipe) exit
//! as before.

use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::DemoError;
use crate::console::auth::{generate_password, hash_password};
use crate::console::metrics::ConsoleMetrics;
use crate::console::{ConsoleState, router};

/// The demo's console, serving.
pub(super) struct DemoConsole {
    url: String,
    username: String,
    password: String,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
}

/// Adds this run's operator and serves the console on `addr`.
pub(super) async fn start(pool: &PgPool, addr: SocketAddr) -> Result<DemoConsole, DemoError> {
    let username = format!("demo-{}", hex::encode(rand::random::<[u8; 3]>()));
    let password = generate_password();
    let hash = hash_password(&password).map_err(|e| DemoError::Other(e.to_string()))?;
    sqlx::query_file_scalar!(
        "queries/console/insert_user.sql",
        username,
        hash,
        "operator"
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| DemoError::Other(format!("console user {username} exists already")))?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| DemoError::Other(format!("cannot serve the console on {addr}: {e}")))?;
    let bound = listener.local_addr()?;
    let state = Arc::new(ConsoleState {
        pool: pool.clone(),
        // Plain http on loopback: the browser would drop a `Secure` cookie.
        secure_cookie: !bound.ip().is_loopback(),
        request_timeout: Duration::from_secs(30),
        trace_url: None,
        header_timeout: Duration::from_secs(10),
        metrics: Arc::new(ConsoleMetrics::new()),
    });
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(router::serve(listener, state, async {
        let _ = stopped.await;
    }));
    tracing::info!(console.addr = %bound, "demo console listening");
    Ok(DemoConsole {
        url: format!("http://{bound}/"),
        username,
        password,
        stop,
        served,
    })
}

impl DemoConsole {
    /// Prints where the console is and the login.
    pub(super) fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "  console: {} (log in as {} with password {}; generated for this run)",
            self.url, self.username, self.password
        )
    }

    /// Stops it now, or, when `keep` or stdin is a terminal, after Ctrl-C or SIGTERM.
    pub(super) async fn finish(self, keep: bool, out: &mut impl Write) -> Result<(), DemoError> {
        if keep || std::io::stdin().is_terminal() {
            writeln!(
                out,
                "\nThe console keeps serving at {} (user {}); Ctrl-C stops it.",
                self.url, self.username
            )?;
            out.flush()?;
            herald_worker::runtime::shutdown_signal().await;
        }
        let _ = self.stop.send(());
        self.served
            .await
            .map_err(|e| DemoError::Other(format!("console task failed: {e}")))??;
        Ok(())
    }
}
