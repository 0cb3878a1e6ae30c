//! Serving the console's router over TCP (HTTP/1.1): one task per connection through
//! hyper-util's connection builder, so limits `axum::serve` cannot set are enforced.
//!
//! | limit | what happens |
//! |---|---|
//! | header timeout (`--header-timeout`, default 10 s) | a connection whose request head is not complete that long after the server started waiting for it (a new connection, or an idle keep-alive one) is closed without an answer; `axum::serve` sets no timer, so hyper's header timeout never fires there |
//! | head size | a request head over hyper's buffer limit (about 400 KiB) is answered `431` and closed by hyper |
//! | the request timeout and body limit | layers of the router (`router.rs`), answered in the one error shape |
//! | shutdown | when `shutdown` completes, no new connection is accepted, open requests get [`SHUTDOWN_GRACE`] to finish (a live stream never finishes by itself), then the rest are closed |

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::ServiceExt;

/// How long open requests may still run after the shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` (each request carrying `ConnectInfo<SocketAddr>`) until
/// `shutdown` completes; closes connections whose request head takes longer than
/// `header_timeout`.
pub async fn serve(
    mut listener: TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // HTTP/1.1 only (put a proxy in front for TLS or HTTP/2): detecting the version
    // would wait for a first byte with no timer running, so a silent client stayed.
    let mut builder = Builder::new(TokioExecutor::new()).http1_only();
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    let graceful = GracefulShutdown::new();
    let mut tasks = tokio::task::JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // `Listener::accept` retries on its own after transient accept errors.
        let (stream, remote) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let service = app
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                request
            });
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        while tasks.try_join_next().is_some() {}
        tasks.spawn(async move {
            // hyper's header timer starts with the first byte: a silent client is
            // closed here.
            let mut first = [0_u8; 1];
            if !matches!(
                tokio::time::timeout(header_timeout, stream.peek(&mut first)).await,
                Ok(Ok(1..))
            ) {
                tracing::debug!(client.addr = %remote, "console connection closed: no request");
                return;
            }
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
            // A client that goes away, sends garbage or trickles its head ends here: routine.
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(client.addr = %remote, error.message = %e, "console connection closed");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!(
            grace_secs = SHUTDOWN_GRACE.as_secs(),
            "console connections still open after the shutdown grace; closing them"
        );
    }
    tasks.abort_all();
    Ok(())
}
