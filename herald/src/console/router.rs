//! The routes and the layers around them, and serving them.
//!
//! | layer (outermost first) | what it does |
//! |---|---|
//! | `errors::log_failures` | a request id on every answer; an internal failure logged once at ERROR, answered `INTERNAL_ERROR` with the id |
//! | `deadline` | the request timeout (`--request-timeout`, default 30 s), body reading included: a slow request is cut off with `TIMEOUT` |
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

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use tokio::net::TcpListener;

use super::errors::{self, ApiError};
use super::extract::BODY_LIMIT;
use super::stream::Hub;
use super::{ConsoleState, api, auth, pages, stream};

/// Every API route but the login, as (method, path): each needs a session.
pub const ROUTES: [(&str, &str); 11] = [
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
];

/// The console's router over `state`, with its own live-stream hub.
pub fn router(state: Arc<ConsoleState>) -> Router {
    let hub = Arc::new(Hub::new(state.pool.clone()));
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
        .with_state(state)
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route".to_owned())
}

/// The request timeout, body reading included.
async fn deadline(
    State(state): State<Arc<ConsoleState>>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout(state.request_timeout.as_secs_f64()).into_response(),
    }
}

/// Serves the console on `listener` until `shutdown` completes; open requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ConsoleState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let hub = Arc::new(Hub::new(state.pool.clone()));
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
    let app =
        router_with_hub(state, hub.clone()).into_make_service_with_connect_info::<SocketAddr>();
    // Open streams would otherwise hold the graceful shutdown forever.
    let shutdown = async move {
        shutdown.await;
        hub.close();
    };
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
