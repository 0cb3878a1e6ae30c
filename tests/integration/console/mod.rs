//! `herald console` over real HTTP against real PostgreSQL: the console serves in this
//! process on an ephemeral loopback port ([`Console::start`]), users are added with the
//! real `herald console add-user` (in-process), requests go through `reqwest`.
//!
//! | file | what it shows |
//! |---|---|
//! | `auth.rs` | login, the cookie, sessions, logout, the fleet-wide failed-login throttle, their audit rows |
//! | `errors.rs` | each error code in the one shape; request ids; body limit; slow requests cut off |
//! | `hostile.rs` | no route answers without a session; CSRF-less changes refused and audited; hostile text is data |
//! | `api.rs` | the resources (queues, the OpenAPI document) |
//! | `stream.rs` | the live stream: attempt outcomes and alert transitions as they happen, a failure as a generic `error` event, a client going away cleaned up, a slow client's dropped events counted |
//! | `demo_console.rs` | `herald demo` serves the console with a login generated per run, kept with `--keep-console` until SIGTERM |
//! | `pages.rs` | the pages: embedded, strict security headers, no inline script |
//! | `actions.rs` | replay/cancel by filter: role check (audited), dry-run count, required reason, the user as actor, SQL-looking values as data |

mod actions;
mod actions_log;
mod api;
mod auth;
mod conflict;
mod demo_console;
mod errors;
mod hostile;
mod metrics;
mod operator_role;
mod pages;
mod stream;
mod upkeep;
mod workflow;

use std::sync::Arc;
use std::time::Duration;

use herald::console::ConsoleState;
use herald::console::metrics::ConsoleMetrics;
use herald::console::stream::Hub;
use herald_tests::db::TestDb;
use reqwest::header::{COOKIE, SET_COOKIE};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::cli::{in_process, text};

/// A console serving one test database.
pub struct Console {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub db: TestDb,
    pub http: reqwest::Client,
    /// The live stream's hub (its counters).
    pub hub: Arc<Hub>,
    /// The metrics this console records into.
    pub metrics: Arc<ConsoleMetrics>,
    stop: Option<oneshot::Sender<()>>,
    served: tokio::task::JoinHandle<()>,
}

/// A logged-in client: its cookie and CSRF token.
pub struct Login {
    pub cookie: String,
    pub csrf: String,
    /// The `Set-Cookie` header the login answered.
    pub set_cookie: String,
}

impl Console {
    /// A console on a fresh database, with a 30 s request timeout.
    pub async fn start() -> Self {
        Self::serve(TestDb::new().await, Duration::from_secs(30)).await
    }

    /// A console on `db` with `timeout`.
    pub async fn serve(db: TestDb, timeout: Duration) -> Self {
        Self::serve_with_header_timeout(db, timeout, Duration::from_secs(10)).await
    }

    /// A console on `db` with `timeout` and `header_timeout`.
    pub async fn serve_with_header_timeout(
        db: TestDb,
        timeout: Duration,
        header_timeout: Duration,
    ) -> Self {
        let pool = db.pool.clone();
        Self::serve_on(db, pool, timeout, header_timeout).await
    }

    /// A console whose queries go through `pool` (e.g. another role's) on `db`.
    pub async fn serve_on(
        db: TestDb,
        pool: sqlx::PgPool,
        timeout: Duration,
        header_timeout: Duration,
    ) -> Self {
        let metrics = Arc::new(ConsoleMetrics::new());
        let state = Arc::new(ConsoleState {
            pool,
            secure_cookie: true,
            request_timeout: timeout,
            trace_url: Some("http://jaeger.example:16686/trace/{trace_id}".to_owned()),
            header_timeout,
            metrics: metrics.clone(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        let hub = Arc::new(Hub::new(db.pool.clone()));
        let served_hub = hub.clone();
        let served = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            herald::console::router::serve_with_hub(listener, state, served_hub, shutdown)
                .await
                .unwrap_or_else(|e| panic!("serve: {e}"));
        });
        Self {
            base: format!("http://{addr}"),
            metrics,
            db,
            http: reqwest::Client::new(),
            hub,
            stop: Some(stop),
            served,
        }
    }

    /// A second console process-equivalent on the same database (another pool).
    pub async fn sibling(&self) -> (String, oneshot::Sender<()>) {
        let pool = sqlx::PgPool::connect(&self.db.url)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let state = Arc::new(ConsoleState {
            pool,
            secure_cookie: true,
            request_timeout: Duration::from_secs(30),
            trace_url: None,
            header_timeout: Duration::from_secs(10),
            metrics: Arc::new(ConsoleMetrics::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = herald::console::router::serve(listener, state, shutdown).await;
        });
        (format!("http://{addr}"), stop)
    }

    /// `base` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Adds `name` with `role` through `herald console add-user`; returns the password
    /// it printed.
    pub async fn add_user(&self, name: &str, role: &str) -> String {
        let out = in_process(
            Some(&self.db.url),
            &["console", "add-user", name, "--role", role],
        )
        .await;
        let stdout = text(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("password: "))
            .map(|p| p.trim().to_owned())
            .unwrap_or_else(|| panic!("no password printed: {stdout}"))
    }

    /// `POST /api/v1/login`: status and body.
    pub async fn try_login(&self, base: &str, name: &str, password: &str) -> (u16, Value) {
        let response = self
            .http
            .post(format!("{base}/api/v1/login"))
            .json(&serde_json::json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Logs `name` in (asserting success).
    pub async fn login(&self, name: &str, password: &str) -> Login {
        let response = self
            .http
            .post(self.url("/api/v1/login"))
            .json(&serde_json::json!({"username": name, "password": password}))
            .send()
            .await
            .unwrap_or_else(|e| panic!("login: {e}"));
        assert_eq!(response.status().as_u16(), 200);
        let set_cookie = response
            .headers()
            .get(SET_COOKIE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no cookie"))
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
        let body: Value = response.json().await.unwrap_or_else(|e| panic!("{e}"));
        let csrf = body["csrf_token"].as_str().unwrap_or_default().to_owned();
        assert_eq!(csrf.len(), 64, "{body}");
        Login {
            cookie,
            csrf,
            set_cookie,
        }
    }

    /// A request builder for `method path` carrying `login`'s cookie (no CSRF token).
    pub fn with_session(
        &self,
        method: reqwest::Method,
        path: &str,
        login: &Login,
    ) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(COOKIE, &login.cookie)
    }

    /// The authentication audit: (actor, event, source, attempted), oldest first.
    pub async fn events(&self) -> Vec<(String, String, String, String)> {
        sqlx::query_as(
            "SELECT actor, event, source_addr, attempted FROM herald.console_events ORDER BY id",
        )
        .fetch_all(&self.db.pool)
        .await
        .unwrap_or_else(|e| panic!("events: {e}"))
    }

    /// Stops serving, then finishes the database.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = self.served.await;
        self.db.finish().await;
    }
}

/// Sends `request`; returns the status and the body as JSON (`Null` when not JSON).
pub async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap_or_else(|e| panic!("send: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Asserts `body` is the one error shape with `code`.
pub fn assert_error(body: &Value, code: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
}
