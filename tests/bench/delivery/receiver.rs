//! The bench's endpoints: a webhook receiver and the testkit's SMTP sink, shared by
//! Herald's and Celery's measurements in one run.
//!
//! | route | does |
//! |---|---|
//! | `POST /hook` | records (the body's `enqueued_at`, now) in epoch microseconds, waits `--delay-ms`, answers 200 |
//! | `GET /count/webhook` | webhooks received so far |
//! | `GET /count/email` | messages the sink has accepted so far |
//!
//! axum (hyper) serves each connection on its own task, so the receiver is not what
//! limits a run; the delay is a sleep, not work.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use herald_testkit::smtp_sink::SmtpSink;

use crate::BenchResult;

/// One delivery: when it was enqueued and when the endpoint received it (epoch µs).
#[derive(Debug, Clone, Copy)]
pub struct Delivery {
    /// Enqueue time, as the producer stamped it.
    pub enqueued_us: i64,
    /// Receive time at the endpoint.
    pub received_us: i64,
}

struct Shared {
    delay: Duration,
    hooks: Mutex<Vec<Delivery>>,
    sink: SmtpSink,
}

/// The running endpoints; they stop when the bench exits.
#[derive(Clone)]
pub struct Endpoints {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Now, in epoch microseconds.
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or_default()
}

impl Endpoints {
    /// Starts the receiver (answering after `delay`) and the SMTP sink on 127.0.0.1.
    pub async fn start(delay: Duration) -> BenchResult<Self> {
        let shared = Arc::new(Shared {
            delay,
            hooks: Mutex::new(Vec::new()),
            sink: SmtpSink::start().await?,
        });
        let app = Router::new()
            .route("/hook", post(hook))
            .route("/count/webhook", get(count_hooks))
            .route("/count/email", get(count_mails))
            .with_state(Arc::clone(&shared));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, shared })
    }

    /// The webhook URL.
    pub fn hook_url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The URL that answers how many deliveries of `kind` (`webhook`, `email`) arrived.
    pub fn count_url(&self, kind: &str) -> String {
        format!("http://{}/count/{kind}", self.addr)
    }

    /// The SMTP sink's port.
    pub fn smtp_port(&self) -> u16 {
        self.shared.sink.port()
    }

    /// Deliveries of `kind` counted so far.
    pub fn count(&self, kind: &str) -> usize {
        match kind {
            "webhook" => self.lock_hooks().len(),
            _ => self.shared.sink.count(),
        }
    }

    /// Deliveries of `kind` after the first `from`.
    pub fn deliveries(&self, kind: &str, from: usize) -> Vec<Delivery> {
        match kind {
            "webhook" => self.lock_hooks().get(from..).unwrap_or_default().to_vec(),
            _ => self
                .shared
                .sink
                .received()
                .get(from..)
                .unwrap_or_default()
                .iter()
                .filter_map(|mail| {
                    let subject = mail.header("Subject")?;
                    let enqueued_us = subject.strip_prefix("bench ")?.trim().parse().ok()?;
                    let received_us = mail
                        .received_at
                        .duration_since(UNIX_EPOCH)
                        .ok()?
                        .as_micros() as i64;
                    Some(Delivery {
                        enqueued_us,
                        received_us,
                    })
                })
                .collect(),
        }
    }

    fn lock_hooks(&self) -> std::sync::MutexGuard<'_, Vec<Delivery>> {
        self.shared
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

async fn hook(State(shared): State<Arc<Shared>>, body: Bytes) -> StatusCode {
    let received_us = now_us();
    let enqueued_us = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["enqueued_at"].as_i64())
        .unwrap_or(0);
    shared
        .hooks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Delivery {
            enqueued_us,
            received_us,
        });
    if !shared.delay.is_zero() {
        tokio::time::sleep(shared.delay).await;
    }
    StatusCode::OK
}

async fn count_hooks(State(shared): State<Arc<Shared>>) -> String {
    shared
        .hooks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .len()
        .to_string()
}

async fn count_mails(State(shared): State<Arc<Shared>>) -> String {
    shared.sink.count().to_string()
}
