//! [`Hub`]: one poller per console process reading new attempt outcomes and alert
//! transitions from PostgreSQL about once a second ([`POLL_INTERVAL`]) and broadcasting
//! them to every open stream through a bounded channel ([`CHANNEL_CAPACITY`] events).
//!
//! - The poller runs only while some stream is open: the first subscriber starts it,
//!   and it stops at the first tick with no subscriber left.
//! - Workers never wait on it: it only reads committed rows, and a send to the channel
//!   never blocks (a client that falls more than the capacity behind misses the oldest
//!   events; its stream counts them).
//! - Each event is serialised once, here, and shared by every stream.
//! - A failed read is logged at WARN with its detail (once per run of failures, and
//!   INFO when reads work again), and every stream gets a generic `error` event; the
//!   poller keeps trying.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::{broadcast, watch};

use super::stats::StreamStats;
use crate::console::metrics::ConsoleMetrics;
use herald_worker::stored_time::StoredTime;

/// How often the poller reads new rows.
pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Events buffered for the slowest stream before it starts missing the oldest.
pub const CHANNEL_CAPACITY: usize = 1024;
/// How far back, by the database's clock, each poll looks for attempts (rows committed
/// late or stamped by a worker whose clock runs behind still arrive).
pub const LOOK_BACK: Duration = Duration::from_secs(10);
/// At most this many attempt events per poll (the newest; the stream is a live view,
/// the API's counts are exact).
pub const MAX_ATTEMPTS_PER_POLL: i64 = 500;
/// At most this many alert transitions per poll.
const MAX_ALERTS_PER_POLL: i64 = 100;

/// One broadcast event: its SSE name and its JSON data, serialised once.
#[derive(Debug, Clone)]
pub enum Item {
    /// An event for the client: (`attempt` or `alert`, JSON).
    Event(&'static str, Arc<str>),
    /// The poller could not read; the client gets a generic `error` event.
    Failed,
}

/// An attempt's outcome as the stream sends it (`event: attempt`).
#[derive(Debug, Serialize)]
struct AttemptEvent {
    job_id: i64,
    #[serde(rename = "type")]
    job_type: String,
    queue: String,
    outcome: String,
    at: StoredTime,
}

/// An alert transition as the stream sends it (`event: alert`).
#[derive(Debug, Serialize)]
struct AlertEvent {
    alert: String,
    scope: String,
    /// `tripped` (firing) or `resolved`.
    state: String,
    failure_rate: f64,
    at: StoredTime,
}

/// The live stream's source, shared by every stream of a console process.
#[derive(Debug)]
pub struct Hub {
    pool: PgPool,
    events: broadcast::Sender<Item>,
    polling: AtomicBool,
    closing: watch::Sender<bool>,
    stats: StreamStats,
}

impl Hub {
    /// A hub reading from `pool`; it polls only while a stream is open.
    pub fn new(pool: PgPool) -> Self {
        Self::with_stats(pool, StreamStats::default())
    }

    /// [`Hub::new`] whose stream counters also count in the console's `metrics`.
    pub fn with_metrics(pool: PgPool, metrics: Arc<ConsoleMetrics>) -> Self {
        Self::with_stats(pool, StreamStats::with_metrics(metrics))
    }

    fn with_stats(pool: PgPool, stats: StreamStats) -> Self {
        let (events, _) = broadcast::channel(CHANNEL_CAPACITY);
        let (closing, _) = watch::channel(false);
        Self {
            pool,
            events,
            polling: AtomicBool::new(false),
            closing,
            stats,
        }
    }

    /// The stream counters.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The database the streams re-check sessions in.
    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Ends every open stream (the console is stopping: open streams would otherwise
    /// hold its graceful shutdown forever).
    pub fn close(&self) {
        self.closing.send_replace(true);
    }

    /// A receiver of the closing signal.
    pub(crate) fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// A receiver that starts no poller, and a way to send to it (unit tests).
    #[cfg(test)]
    pub(crate) fn test_channel(&self) -> (broadcast::Sender<Item>, broadcast::Receiver<Item>) {
        (self.events.clone(), self.events.subscribe())
    }

    /// Whether the poller is running.
    pub fn is_polling(&self) -> bool {
        self.polling.load(Ordering::Acquire)
    }

    /// A new subscriber. Starts the poller if it is not running, after reading where it
    /// starts (so every attempt finished after this returns is sent); fails if that
    /// read fails.
    pub async fn subscribe(self: &Arc<Self>) -> Result<broadcast::Receiver<Item>, sqlx::Error> {
        let receiver = self.events.subscribe();
        if !self.polling.swap(true, Ordering::AcqRel) {
            match Cursor::start(&self.pool).await {
                Ok(cursor) => {
                    tokio::spawn(Arc::clone(self).poll_while_watched(cursor));
                }
                Err(e) => {
                    self.polling.store(false, Ordering::Release);
                    return Err(e);
                }
            }
        }
        Ok(receiver)
    }

    /// The poller: reads and broadcasts until no stream is left or the console stops.
    async fn poll_while_watched(self: Arc<Self>, mut cursor: Cursor) {
        tracing::debug!("console stream poller started");
        let mut failing = false;
        let mut ticks = tokio::time::interval(POLL_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if *self.closing.borrow() || !self.still_watched() {
                break;
            }
            match cursor.poll(&self.pool).await {
                Ok(items) => {
                    if failing {
                        tracing::info!("console stream reads new events again");
                        failing = false;
                    }
                    for item in items {
                        // An error here only means no stream is listening right now.
                        let _ = self.events.send(item);
                    }
                }
                Err(e) => {
                    if !failing {
                        tracing::warn!(
                            error.detail = %herald_worker::sanitize::sanitize(&e.to_string()),
                            "console stream cannot read new events; retrying every second"
                        );
                        failing = true;
                    }
                    let _ = self.events.send(Item::Failed);
                }
            }
        }
        tracing::debug!("console stream poller stopped");
    }

    /// Whether some stream is still subscribed; if not, marks the poller stopped (and
    /// keeps it running if a subscriber arrived meanwhile and found it marked running).
    fn still_watched(&self) -> bool {
        if self.events.receiver_count() > 0 {
            return true;
        }
        self.polling.store(false, Ordering::Release);
        // A subscriber between the count and the store saw `true` and started nothing:
        // take the poller back if so.
        self.events.receiver_count() > 0 && !self.polling.swap(true, Ordering::AcqRel)
    }
}

/// Where the poller is: when it started, the attempts its last poll returned, the last
/// alert transition sent.
#[derive(Debug)]
struct Cursor {
    started_at: DateTime<Utc>,
    seen: HashSet<i64>,
    last_alert: i64,
}

impl Cursor {
    /// A cursor starting now.
    async fn start(pool: &PgPool) -> Result<Self, sqlx::Error> {
        let start = sqlx::query_file!("queries/console/stream_start.sql")
            .fetch_one(pool)
            .await?;
        Ok(Self {
            started_at: start.now,
            seen: HashSet::new(),
            last_alert: start.last_alert,
        })
    }

    /// The events since the previous poll.
    async fn poll(&mut self, pool: &PgPool) -> Result<Vec<Item>, PollError> {
        let rows = sqlx::query_file!(
            "queries/console/stream_attempts.sql",
            LOOK_BACK.as_secs_f64(),
            MAX_ATTEMPTS_PER_POLL,
            self.started_at
        )
        .fetch_all(pool)
        .await?;
        let alerts = sqlx::query_file!(
            "queries/console/stream_alerts.sql",
            self.last_alert,
            MAX_ALERTS_PER_POLL
        )
        .fetch_all(pool)
        .await?;
        let mut items = Vec::new();
        let seen = std::mem::take(&mut self.seen);
        for row in rows.iter().rev() {
            self.seen.insert(row.id);
            if seen.contains(&row.id) {
                continue;
            }
            let event = AttemptEvent {
                job_id: row.job_id,
                job_type: row.job_type.clone(),
                queue: row.queue.clone(),
                outcome: row.outcome.clone(),
                at: row.finished_at,
            };
            items.push(Item::Event(
                "attempt",
                serde_json::to_string(&event)?.into(),
            ));
        }
        for row in alerts {
            self.last_alert = row.id;
            let event = AlertEvent {
                alert: row.alert,
                scope: row.scope,
                state: row.transition,
                failure_rate: row.failure_rate,
                at: row.occurred_at,
            };
            items.push(Item::Event("alert", serde_json::to_string(&event)?.into()));
        }
        Ok(items)
    }
}

/// Why a poll failed.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("serialising an event: {0}")]
    Serialise(#[from] serde_json::Error),
}
