//! [`StreamStats`]: what the live stream counts, for the console's metrics: streams
//! opened and closed, streams that saw an error, and events dropped for slow clients.
//! Plain atomics, so counting never waits on anything; each count is also passed on to
//! the console's Prometheus metrics (`console/metrics.rs`) when the hub has them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::console::metrics::ConsoleMetrics;

/// The live stream's counters (all monotonic).
#[derive(Debug, Default)]
pub struct StreamStats {
    opened: AtomicU64,
    closed: AtomicU64,
    errors: AtomicU64,
    dropped: AtomicU64,
    metrics: Option<Arc<ConsoleMetrics>>,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StreamCounts {
    /// Streams opened.
    pub opened: u64,
    /// Streams closed (the client went away, the session ended, or the console stops).
    pub closed: u64,
    /// Error events sent to clients.
    pub errors: u64,
    /// Events a slow client missed.
    pub dropped: u64,
}

impl StreamStats {
    /// Counters that also count in `metrics`.
    pub fn with_metrics(metrics: Arc<ConsoleMetrics>) -> Self {
        Self {
            metrics: Some(metrics),
            ..Self::default()
        }
    }

    /// A stream was opened.
    pub fn stream_opened(&self) {
        self.opened.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.stream_opened();
        }
    }

    /// A stream was closed, whatever the reason.
    pub fn stream_closed(&self) {
        self.closed.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.stream_closed();
        }
    }

    /// A stream sent its client an `error` event.
    pub fn stream_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.stream_error();
        }
    }

    /// A slow client missed `n` events.
    pub fn stream_events_dropped(&self, n: u64) {
        self.dropped.fetch_add(n, Ordering::Relaxed);
        if let Some(metrics) = &self.metrics {
            metrics.stream_events_dropped(n);
        }
    }

    /// The counters now.
    pub fn counts(&self) -> StreamCounts {
        StreamCounts {
            opened: self.opened.load(Ordering::Relaxed),
            closed: self.closed.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}
