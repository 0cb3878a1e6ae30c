//! The console's Prometheus metrics, in a registry of its own (like the worker's,
//! `herald_worker::telemetry::metrics`), served on a separate listener by
//! `herald console --metrics-addr ADDR` at `/metrics`.
//!
//! | metric | type | labels | what it counts |
//! |---|---|---|---|
//! | `herald_console_requests_total` | counter | `route`, `method`, `status_class` | answered requests |
//! | `herald_console_request_duration_seconds` | histogram | `route` | time to the answer's head |
//! | `herald_console_streams_opened_total` | counter | | live streams opened |
//! | `herald_console_streams_open` | gauge | | live streams open now |
//! | `herald_console_stream_errors_total` | counter | | streams that failed (a client going away is not an error) |
//! | `herald_console_stream_events_dropped_total` | counter | | events a slow stream client missed (its buffer was full) |
//!
//! `route` is the matched route template (`/api/v1/jobs/{id}`), never the raw path, so
//! ids never become label values; a request no route matches is `route="unmatched"`.
//! `method` is one of the standard methods or `other`; `status_class` is `2xx` … `5xx`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};
use tokio::net::TcpListener;

/// The name of every metric the console exports (histograms without their suffixes).
pub const NAMES: &[&str] = &[
    "herald_console_requests_total",
    "herald_console_request_duration_seconds",
    "herald_console_streams_opened_total",
    "herald_console_streams_open",
    "herald_console_stream_errors_total",
    "herald_console_stream_events_dropped_total",
];

/// The `route` label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Request latency buckets, in seconds: 1 ms to 30 s (the default request timeout).
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The console's metrics. Cheap to share (`Arc`); every method is infallible.
#[derive(Debug, Clone)]
pub struct ConsoleMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    streams_opened: IntCounter,
    streams_open: IntGauge,
    stream_errors: IntCounter,
    events_dropped: IntCounter,
}

impl Default for ConsoleMetrics {
    fn default() -> Self {
        Self::new()
    }
}

fn register<M: prometheus::core::Collector + Clone + 'static>(r: &Registry, metric: M) -> M {
    // Only a name registered twice fails, and each name here is registered once.
    let _ = r.register(Box::new(metric.clone()));
    metric
}

fn counter(r: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help)
        .unwrap_or_else(|_| unreachable!("metric {name} is well-formed"));
    register(r, metric)
}

impl ConsoleMetrics {
    /// A fresh registry holding every console metric at zero.
    pub fn new() -> Self {
        let r = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "herald_console_requests_total",
                "Console requests answered, by route template, method and status class.",
            ),
            &["route", "method", "status_class"],
        )
        .unwrap_or_else(|_| unreachable!("the request counter is well-formed"));
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "herald_console_request_duration_seconds",
                "Time from a console request's arrival to its answer's head, by route template.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route"],
        )
        .unwrap_or_else(|_| unreachable!("the latency histogram is well-formed"));
        let streams_open = IntGauge::new(
            "herald_console_streams_open",
            "Console live streams open now.",
        )
        .unwrap_or_else(|_| unreachable!("the stream gauge is well-formed"));
        Self {
            requests: register(&r, requests),
            latency: register(&r, latency),
            streams_opened: counter(
                &r,
                "herald_console_streams_opened_total",
                "Console live streams opened.",
            ),
            streams_open: register(&r, streams_open),
            stream_errors: counter(
                &r,
                "herald_console_stream_errors_total",
                "Console live streams that failed (a client going away is not counted).",
            ),
            events_dropped: counter(
                &r,
                "herald_console_stream_events_dropped_total",
                "Events a slow live-stream client missed because its buffer was full.",
            ),
            registry: r,
        }
    }

    /// Counts one answered request of `route` (a template) and its latency.
    pub fn observe_request(
        &self,
        route: &str,
        method: &Method,
        status: StatusCode,
        elapsed: Duration,
    ) {
        self.requests
            .with_label_values(&[route, method_label(method), status_class(status)])
            .inc();
        self.latency
            .with_label_values(&[route])
            .observe(elapsed.as_secs_f64());
    }

    /// A live stream opened.
    pub fn stream_opened(&self) {
        self.streams_opened.inc();
        self.streams_open.inc();
    }

    /// A live stream closed, for whatever reason (call once per `stream_opened`).
    pub fn stream_closed(&self) {
        self.streams_open.dec();
    }

    /// A live stream failed (not a client going away).
    pub fn stream_error(&self) {
        self.stream_errors.inc();
    }

    /// `n` events were dropped for a slow live-stream client.
    pub fn stream_events_dropped(&self, n: u64) {
        self.events_dropped.inc_by(n);
    }

    /// The Prometheus text exposition of every console metric.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        // Encoding into a Vec fails only on a malformed family, which the registry never holds.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// A bounded method label: the standard methods by name, anything else `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware (outermost, after routing) counting every answer by its route template.
pub(crate) async fn record(
    State(metrics): State<Arc<ConsoleMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| UNMATCHED.to_owned(), |m| m.as_str().to_owned());
    let method = request.method().clone();
    let response = next.run(request).await;
    metrics.observe_request(&route, &method, response.status(), started.elapsed());
    response
}

/// Serves `GET /metrics` from `metrics` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    metrics: Arc<ConsoleMetrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(metrics);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn scrape(State(metrics): State<Arc<ConsoleMetrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_count_opened_open_errors_and_drops() {
        let m = ConsoleMetrics::new();
        m.stream_opened();
        m.stream_opened();
        m.stream_closed();
        m.stream_error();
        m.stream_events_dropped(7);
        let text = m.encode();
        for line in [
            "herald_console_streams_opened_total 2",
            "herald_console_streams_open 1",
            "herald_console_stream_errors_total 1",
            "herald_console_stream_events_dropped_total 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in {text}");
        }
    }

    #[test]
    fn labels_stay_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        let odd = Method::from_bytes(b"BREW").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(method_label(&odd), "other");
        assert_eq!(status_class(StatusCode::NOT_FOUND), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::OK), "2xx");
    }

    #[test]
    fn every_name_is_exported_after_first_use() {
        let m = ConsoleMetrics::new();
        m.observe_request("/x", &Method::GET, StatusCode::OK, Duration::ZERO);
        let text = m.encode();
        for name in NAMES {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name}");
        }
    }
}
