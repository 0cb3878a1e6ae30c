//! A local webhook receiver for the demo (and the tests): each path answers in a fixed
//! way, so the demo shows every kind of outcome.
//!
//! | path | answers | Herald's classification |
//! |---|---|---|
//! | `/hooks/ok` | 200 | success |
//! | `/hooks/flaky` | 503 on attempts 1–2, then 200 | retried, then success |
//! | `/hooks/slow-down` | 429 `Retry-After: 1` on attempt 1, then 200 | waits 1 s, then success |
//! | `/hooks/gone` | 410 | terminal `NOT_FOUND` |
//! | `/hooks/invalid` | 422 | terminal `VALIDATION_ERROR` |
//! | `/hooks/down` | 503 always | retried until the budget runs out, then dead |
//!
//! Every request's Standard Webhooks signature (`webhook-id`, `webhook-timestamp`,
//! `webhook-signature`) is checked, and a timestamp more than 5 minutes away from now;
//! a bad one gets 401. [`Receiver::connections`] counts the TCP connections accepted
//! (against the requests in [`Receiver::received`]: keep-alive reuse shows as fewer).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use herald_jobs::notify::webhook::{parse_secret, verify};
use tokio::sync::oneshot;

/// The receiver's paths, in the demo's mix order.
pub const SCENARIOS: [&str; 6] = ["ok", "flaky", "slow-down", "gone", "invalid", "down"];

/// How far a `webhook-timestamp` may be from now, in seconds (the specification's advice).
const TOLERANCE_SECS: i64 = 300;

struct ReceiverState {
    signing_keys: Vec<Vec<u8>>,
    received: Mutex<BTreeMap<String, u64>>,
    connections: AtomicU64,
}

/// A running receiver; stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<ReceiverState>,
    _stop: oneshot::Sender<()>,
}

impl Receiver {
    /// Starts on 127.0.0.1 (a free port), accepting signatures made with any of the
    /// comma-separated `whsec_<base64>` secrets in `signing_keys`. Fails on a malformed
    /// secret or if no port can be bound.
    pub async fn start(signing_keys: &str) -> std::io::Result<Self> {
        let signing_keys = signing_keys
            .split(',')
            .map(|k| parse_secret(k).map_err(std::io::Error::other))
            .collect::<Result<Vec<_>, _>>()?;
        let state = Arc::new(ReceiverState {
            signing_keys,
            received: Mutex::new(BTreeMap::new()),
            connections: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/hooks/{scenario}", post(receive))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let counted = Arc::clone(&state);
        let listener = listener.tap_io(move |_| {
            counted.connections.fetch_add(1, Ordering::Relaxed);
        });
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error.message = %e, "demo webhook receiver stopped");
            }
        });
        Ok(Self {
            addr,
            state,
            _stop: stop,
        })
    }

    /// The URL of `scenario`'s endpoint.
    pub fn url(&self, scenario: &str) -> String {
        format!("http://{}/hooks/{scenario}", self.addr)
    }

    /// The base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::Relaxed)
    }

    /// Requests received so far, by scenario.
    pub fn received(&self) -> BTreeMap<String, u64> {
        self.state
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    Path(scenario): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Ok(mut received) = state.received.lock() {
        *received.entry(scenario.clone()).or_default() += 1;
    }
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let (id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let fresh = timestamp
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= TOLERANCE_SECS);
    let signature = header("webhook-signature");
    if !fresh || !verify(&state.signing_keys, id, timestamp, &body, signature) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let attempt: u32 = header("X-Herald-Attempt").parse().unwrap_or(1);
    match (scenario.as_str(), attempt) {
        ("ok", _) => StatusCode::OK.into_response(),
        ("flaky", 1..=2) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
        ("flaky", _) => StatusCode::OK.into_response(),
        ("slow-down", 1) => (StatusCode::TOO_MANY_REQUESTS, [("Retry-After", "1")]).into_response(),
        ("slow-down", _) => StatusCode::OK.into_response(),
        ("gone", _) => StatusCode::GONE.into_response(),
        ("invalid", _) => StatusCode::UNPROCESSABLE_ENTITY.into_response(),
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
