//! Herald's Sentry transport: envelopes go through a bounded queue to one background
//! thread that POSTs them with the `reqwest` client Herald already uses (no second HTTP
//! stack). Jobs never wait on Sentry:
//!
//! - [`Transport::send_envelope`] only `try_send`s into a queue of [`QUEUE_CAPACITY`]
//!   envelopes; when it is full the envelope is dropped (memory stays bounded).
//! - Each request has a [`CONNECT_TIMEOUT`] and a [`REQUEST_TIMEOUT`].
//! - When Sentry cannot be reached (or rejects an envelope, or the queue overflows) ONE
//!   WARN is logged and envelopes are dropped; when a send succeeds again, one INFO says
//!   so with the number dropped meanwhile.
//! - Sentry's rate limits (`X-Sentry-Rate-Limits`, `Retry-After`, 429) are honoured
//!   with the SDK's own `RateLimiter`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use sentry::transports::{RateLimiter, RateLimitingCategory};
use sentry::{Envelope, Transport};
use tracing::{info, warn};

use crate::sanitize::sanitize;

/// Envelopes waiting to be sent at most; more are dropped.
pub(crate) const QUEUE_CAPACITY: usize = 64;
/// Connection timeout of a request to Sentry.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Whole-request timeout of a request to Sentry.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

enum Task {
    Send(Box<Envelope>),
    Stop,
}

/// Whether events are being dropped, shared by the queue and the sending thread.
#[derive(Default)]
struct Health {
    warned: AtomicBool,
    dropped: AtomicU64,
    pending: AtomicUsize,
}

impl Health {
    /// Counts a dropped envelope; the first drop of an outage logs the one WARN.
    fn dropped(&self, why: &str) {
        self.dropped.fetch_add(1, Ordering::Relaxed);
        if !self.warned.swap(true, Ordering::AcqRel) {
            warn!(
                error.message = %sanitize(why),
                "Sentry is unreachable: error events are dropped until it answers again (jobs are not affected)"
            );
        }
    }

    fn delivered(&self) {
        if self.warned.swap(false, Ordering::AcqRel) {
            let dropped = self.dropped.swap(0, Ordering::Relaxed);
            info!(events.dropped = dropped, "Sentry is reachable again");
        }
    }
}

/// The transport: a bounded queue in front of one sending thread.
pub(crate) struct QueueTransport {
    queue: SyncSender<Task>,
    health: Arc<Health>,
}

impl QueueTransport {
    /// Starts the sending thread for `dsn`, identifying as `user_agent`.
    pub(crate) fn start(dsn: &sentry::types::Dsn, user_agent: &str) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        let target = Target {
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(user_agent)).to_string(),
            client,
        };
        let (queue, tasks) = sync_channel(QUEUE_CAPACITY);
        let health = Arc::new(Health::default());
        let shared = Arc::clone(&health);
        std::thread::Builder::new()
            .name("herald-sentry".into())
            .spawn(move || target.run(tasks, &shared))
            .map_err(|e| e.to_string())?;
        Ok(Self { queue, health })
    }
}

impl Transport for QueueTransport {
    fn send_envelope(&self, envelope: Envelope) {
        self.health.pending.fetch_add(1, Ordering::AcqRel);
        if let Err(e) = self.queue.try_send(Task::Send(Box::new(envelope))) {
            self.health.pending.fetch_sub(1, Ordering::AcqRel);
            let why = match e {
                TrySendError::Full(_) => "the Sentry queue is full",
                TrySendError::Disconnected(_) => "the Sentry sender has stopped",
            };
            self.health.dropped(why);
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.health.pending.load(Ordering::Acquire) > 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        let flushed = self.flush(timeout);
        let _ = self.queue.try_send(Task::Stop);
        flushed
    }
}

struct Target {
    url: String,
    auth: String,
    client: reqwest::Client,
}

impl Target {
    fn run(self, tasks: Receiver<Task>, health: &Health) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                health.dropped(&format!("cannot start the Sentry sender: {e}"));
                return;
            }
        };
        let mut limits = RateLimiter::new();
        for task in tasks {
            let Task::Send(envelope) = task else { break };
            runtime.block_on(self.send(*envelope, &mut limits, health));
            health.pending.fetch_sub(1, Ordering::AcqRel);
        }
    }

    async fn send(&self, envelope: Envelope, limits: &mut RateLimiter, health: &Health) {
        if limits.is_disabled(RateLimitingCategory::Any).is_some() {
            return; // Sentry asked us to back off: dropping is what it wants.
        }
        let mut body = Vec::new();
        if let Err(e) = envelope.to_writer(&mut body) {
            health.dropped(&format!("cannot encode an event: {e}"));
            return;
        }
        let request = self
            .client
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header("Content-Type", "application/x-sentry-envelope")
            .body(body);
        match request.send().await {
            Err(e) => health.dropped(&e.to_string()),
            Ok(response) => {
                let status = response.status();
                let header = |name: &str| {
                    response
                        .headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned)
                };
                if let Some(rate) = header("x-sentry-rate-limits") {
                    limits.update_from_sentry_header(&rate);
                } else if let Some(after) = header("retry-after") {
                    limits.update_from_retry_after(&after);
                } else if status.as_u16() == 429 {
                    limits.update_from_429();
                }
                if status.is_success() || status.as_u16() == 429 {
                    health.delivered();
                } else {
                    health.dropped(&format!("Sentry answered HTTP {}", status.as_u16()));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use sentry::protocol::Event;

    use super::*;

    #[test]
    fn a_silent_sentry_never_blocks_the_sender_and_the_queue_stays_bounded() {
        // Accepts connections and never answers: every request hangs until its timeout.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port();
        std::thread::spawn(move || {
            let held: Vec<_> = listener.incoming().collect();
            drop(held);
        });
        let dsn = format!("http://public@127.0.0.1:{port}/1")
            .parse()
            .unwrap_or_else(|e| panic!("dsn: {e}"));
        let transport =
            QueueTransport::start(&dsn, "herald-test").unwrap_or_else(|e| panic!("transport: {e}"));
        let sends = 500;
        for _ in 0..sends {
            transport.send_envelope(Envelope::from(Event::default()));
        }
        let pending = transport.health.pending.load(Ordering::Acquire);
        let dropped = transport.health.dropped.load(Ordering::Relaxed);
        assert!(pending <= QUEUE_CAPACITY + 1, "pending {pending}");
        assert_eq!(
            pending as u64 + dropped,
            sends,
            "every envelope is queued or dropped"
        );
        assert!(
            transport.health.warned.load(Ordering::Acquire),
            "the overflow warned"
        );
        assert!(
            !transport.flush(Duration::from_millis(50)),
            "nothing was delivered"
        );
    }
}
