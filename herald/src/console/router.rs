//! The routes and the layers around them, and serving them.
//!
//! | layer (outermost first) | what it does |
//! |---|---|
//! | `metrics::record` | counts every answer by route template, method and status class, and its latency |
//! | `errors::log_failures` | a request id on every answer; an internal failure logged once at ERROR, answered `INTERNAL_ERROR` with the id |
//! | `deadline` | the request timeout (`--request-timeout`, default 30 s), body reading included: a request whose body is still arriving is cut off with 408 `TIMEOUT`, one whose work is too slow with 503 `TIMEOUT` |
//! | `pages::security_headers` | the Content-Security-Policy (no inline script, `default-src 'self'`, `frame-ancestors 'none'`), `X-Content-Type-Options: nosniff` and friends on every answer |
//! | `DefaultBodyLimit` | bodies over `extract::BODY_LIMIT` (64 KiB) are refused with `PAYLOAD_TOO_LARGE` |
//!
//! The live stream (`GET /api/v1/stream`, `stream/`) is routed past `deadline`: it stays
//! open. The pages (`pages/`, `/` and `/assets/*`) are static files holding no data:
//! they answer without a session and read everything through the API.
//!
//! Authentication is per route, by extractor (`sessions::Session`, `sessions::Operator`):
//! a route without one would answer anonymously, so [`ROUTES`] lists them all and the
//! integration tests check that each refuses a request without a session.
//!
//! Connections are served by `serve.rs` (the header timeout, graceful shutdown).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Extension;
use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::StreamExt;
use tokio::net::TcpListener;

use super::errors::{self, ApiError};
use super::extract::BODY_LIMIT;
use super::stream::Hub;
use super::{ConsoleState, api, auth, metrics, pages, stream};

/// Every API route but the login, as (method, path): each needs a session.
pub const ROUTES: [(&str, &str); 13] = [
    ("POST", "/api/v1/logout"),
    ("GET", "/api/v1/session"),
    ("GET", "/api/v1/queues"),
    ("GET", "/api/v1/openapi.json"),
    ("POST", "/api/v1/jobs/actions"),
    ("GET", "/api/v1/failures"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/jobs/1"),
    ("GET", "/api/v1/overview"),
    ("GET", "/api/v1/actions"),
    ("GET", "/api/v1/stream"),
    ("POST", "/api/v1/jobs/1/actions"),
    ("GET", "/api/v1/workflows/1"),
];

/// The console's router over `state`, with its own live-stream hub.
pub fn router(state: Arc<ConsoleState>) -> Router {
    let hub = Arc::new(Hub::with_metrics(state.pool.clone(), state.metrics.clone()));
    router_with_hub(state, hub)
}

/// The console's router over `state`, its live stream fed by `hub`.
pub fn router_with_hub(state: Arc<ConsoleState>, hub: Arc<Hub>) -> Router {
    let api = Router::new()
        .route("/login", post(auth::login))
        .route("/logout", post(auth::logout))
        .route("/session", get(auth::current))
        .route("/queues", get(api::queues::list))
        .route("/openapi.json", get(api::openapi::document))
        .route("/jobs/actions", post(api::actions::run))
        .route("/failures", get(api::failures::list))
        .route("/overview", get(api::overview::show))
        .route("/jobs", get(api::jobs::list))
        .route("/jobs/{id}", get(api::jobs::show))
        .route("/actions", get(api::actions_log::list))
        .route("/jobs/{id}/actions", post(api::job_action::run))
        .route("/workflows/{batch_id}", get(api::workflows::show))
        .method_not_allowed_fallback(method_not_allowed);
    Router::new()
        .nest("/api/v1", api)
        .merge(pages::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(state.clone(), deadline))
        .route(
            "/api/v1/stream",
            get(stream::open)
                .fallback(method_not_allowed)
                .layer(Extension(hub)),
        )
        .layer(middleware::from_fn(pages::security_headers))
        .layer(middleware::from_fn(errors::log_failures))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::record,
        ))
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".to_owned())
}

/// The request timeout, body reading included: 408 while the body is still arriving,
/// 503 once it has (the server was too slow).
async fn deadline(
    State(state): State<Arc<ConsoleState>>,
    request: Request,
    next: Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let arrived = Arc::new(AtomicBool::new(body.is_end_stream()));
    let body = if arrived.load(Ordering::Relaxed) {
        body
    } else {
        let flag = arrived.clone();
        let end = futures::stream::once(async move {
            flag.store(true, Ordering::Relaxed);
            Ok::<_, axum::Error>(Bytes::new())
        });
        Body::from_stream(body.into_data_stream().chain(end))
    };
    let request = Request::from_parts(parts, body);
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) if !arrived.load(Ordering::Relaxed) => {
            ApiError::BodyTimeout(state.request_timeout.as_secs_f64()).into_response()
        }
        Err(_) => ApiError::Timeout(state.request_timeout.as_secs_f64()).into_response(),
    }
}

/// Serves the console on `listener` until `shutdown` completes (`serve.rs`: open
/// requests get a grace to finish; slow request heads are cut off).
pub async fn serve(
    listener: TcpListener,
    state: Arc<ConsoleState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = Arc::new(Hub::with_metrics(state.pool.clone(), state.metrics.clone()));
    serve_with_hub(listener, state, hub, shutdown).await
}

/// [`serve`] with the live stream fed by `hub` (whose counters the caller reads); open
/// streams end when `shutdown` completes.
pub async fn serve_with_hub(
    listener: TcpListener,
    state: Arc<ConsoleState>,
    hub: Arc<Hub>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let header_timeout = state.header_timeout;
    let app = router_with_hub(state, hub.clone());
    // Open streams would otherwise hold the graceful shutdown until its grace runs out.
    let shutdown = async move {
        shutdown.await;
        hub.close();
    };
    super::serve::serve(listener, app, header_timeout, shutdown).await
}
