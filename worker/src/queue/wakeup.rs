//! LISTEN/NOTIFY wake-ups and control messages.
//!
//! One listener connection per process listens on two channels:
//!
//! | channel | payload | sent by | effect |
//! |---|---|---|---|
//! | `herald_jobs` | the queue's name | the triggers on `herald.jobs` (jobs became runnable, now or later) and on `herald.queue_pauses` (a resume) | wakes the queue's backend, which claims |
//! | `herald_control` | `pause:<queue>` | the trigger on `herald.queue_pauses` (a pause) | the queue's backend gives back the jobs it claimed but has not started |
//! | `herald_control` | `limit:<key>` | the triggers on `herald.flow_limits` (a full cap freed a slot; a limit changed or was removed) | wakes every queue's backend (a key is not tied to a queue) |
//! | `herald_control` | `cancel:<job id>:<attempt>` | the trigger on `herald.cancel_requests` (`herald cancel` of a running job) | the attempt's handler, if this process runs it, sees its cancellation signal ([`Cancels`]) |
//!
//! Each queue's backend waits on its [`QueueSignal`]. After the listener reconnects,
//! every queue is woken, since notifications sent while it was away are lost; a lost
//! pause notification costs only that claimed, unstarted jobs still start (the claim
//! statement itself refuses a paused queue, so nothing new is claimed); a lost cancel
//! notification is made up by the next lease heartbeat.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

use super::cancels::Cancels;
use crate::db::{DbHealth, outage_backoff};

/// The NOTIFY channel of runnable jobs (payload: the queue).
pub(crate) const CHANNEL: &str = "herald_jobs";

/// The NOTIFY channel of control messages (payload: `pause:<queue>`, `limit:<key>` or
/// `cancel:<job id>:<attempt>`).
pub(crate) const CONTROL_CHANNEL: &str = "herald_control";

/// One queue's signals: its wake-up, and whether a pause was announced since its
/// backend last looked.
#[derive(Debug, Default)]
pub(crate) struct QueueSignal {
    /// Fired when jobs of the queue may be claimable (kept if nobody waits yet).
    pub(crate) wake: Notify,
    paused: AtomicBool,
}

impl QueueSignal {
    /// Whether a pause was announced since the last call (and clears it).
    pub(crate) fn take_pause(&self) -> bool {
        self.paused.swap(false, Ordering::AcqRel)
    }

    fn announce_pause(&self) {
        self.paused.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}

/// Per-queue signals, and the running attempts' cancellation signals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wakeups {
    queues: Arc<HashMap<String, Arc<QueueSignal>>>,
    cancels: Cancels,
}

impl Wakeups {
    /// Signals for `queues`; cancel messages go to `cancels`.
    pub(crate) fn new(queues: &[String], cancels: Cancels) -> Self {
        let queues = queues
            .iter()
            .map(|q| (q.clone(), Arc::new(QueueSignal::default())))
            .collect();
        Self {
            queues: Arc::new(queues),
            cancels,
        }
    }

    /// The signals of `queue` (fresh, never-fired ones for an unknown queue).
    pub(crate) fn signal(&self, queue: &str) -> Arc<QueueSignal> {
        self.queues.get(queue).cloned().unwrap_or_default()
    }

    /// Wakes `queue`'s backend (a wake-up is kept if nobody waits yet).
    pub(crate) fn wake(&self, queue: &str) {
        if let Some(n) = self.queues.get(queue) {
            n.wake.notify_one();
        }
    }

    /// Wakes every queue.
    pub(crate) fn wake_all(&self) {
        self.queues.values().for_each(|n| n.wake.notify_one());
    }

    /// Handles one notification of `channel` with `payload`.
    pub(crate) fn deliver(&self, channel: &str, payload: &str) {
        if channel != CONTROL_CHANNEL {
            return self.wake(payload);
        }
        if payload.starts_with("limit:") {
            return self.wake_all();
        }
        if let Some(target) = payload.strip_prefix("cancel:") {
            return self.cancels.deliver(target);
        }
        if let Some(queue) = payload.strip_prefix("pause:")
            && let Some(signal) = self.queues.get(queue)
        {
            signal.announce_pause();
        }
    }

    /// Listens until `stop` turns true, reconnecting with backoff through outages.
    pub(crate) async fn listen(
        self,
        pool: PgPool,
        health: Arc<DbHealth>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut delays = outage_backoff();
        while !*stop.borrow() {
            let mut listener = match connect(&pool).await {
                Ok(l) => l,
                Err(e) => {
                    health.failed("listen for wake-ups", &e);
                    let delay = delays.next().unwrap_or_default();
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            delays = outage_backoff();
            self.wake_all();
            loop {
                tokio::select! {
                    _ = stop.changed() => return,
                    message = listener.try_recv() => match message {
                        Ok(Some(n)) => self.deliver(n.channel(), n.payload()),
                        // The connection dropped; sqlx reconnects on the next call.
                        Ok(None) => self.wake_all(),
                        Err(e) => {
                            health.failed("listen for wake-ups", &e);
                            break;
                        }
                    },
                }
            }
        }
    }
}

async fn connect(pool: &PgPool) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, CONTROL_CHANNEL]).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::*;

    #[test]
    fn a_pause_message_flags_only_its_own_queue_once_and_wakes_it() {
        let wakeups = Wakeups::new(&["a".to_owned(), "b:c".to_owned()], Cancels::new());
        wakeups.deliver(CONTROL_CHANNEL, "pause:b:c");
        wakeups.deliver(CONTROL_CHANNEL, "pause:unknown");
        wakeups.deliver(CONTROL_CHANNEL, "frobnicate:a");
        assert!(!wakeups.signal("a").take_pause());
        let paused = wakeups.signal("b:c");
        assert!(paused.take_pause());
        assert!(!paused.take_pause(), "a pause is taken once");
        // The wake-up was kept for the backend that was not waiting yet.
        assert!(paused.wake.notified().now_or_never().is_some());
        assert!(wakeups.signal("a").wake.notified().now_or_never().is_none());
    }

    #[test]
    fn a_limit_message_wakes_every_queue_without_flagging_a_pause() {
        let wakeups = Wakeups::new(&["a".to_owned(), "b".to_owned()], Cancels::new());
        wakeups.deliver(CONTROL_CHANNEL, "limit:hooks.example.com");
        for queue in ["a", "b"] {
            let signal = wakeups.signal(queue);
            assert!(!signal.take_pause());
            assert!(signal.wake.notified().now_or_never().is_some(), "{queue}");
        }
    }

    #[test]
    fn a_cancel_message_fires_the_running_attempts_signal_and_wakes_no_queue() {
        let cancels = Cancels::new();
        let wakeups = Wakeups::new(&["a".to_owned()], cancels.clone());
        let running = cancels.register(42, 3);
        wakeups.deliver(CONTROL_CHANNEL, "cancel:42:3");
        assert!(running.signal().is_cancelled());
        assert!(wakeups.signal("a").wake.notified().now_or_never().is_none());
    }

    #[test]
    fn a_runnable_jobs_message_wakes_its_queue_without_flagging_a_pause() {
        let wakeups = Wakeups::new(&["a".to_owned()], Cancels::new());
        wakeups.deliver(CHANNEL, "a");
        let signal = wakeups.signal("a");
        assert!(!signal.take_pause());
        assert!(signal.wake.notified().now_or_never().is_some());
    }
}
