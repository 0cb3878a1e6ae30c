//! LISTEN/NOTIFY wake-ups.
//!
//! One listener connection per process runs `LISTEN herald_jobs`; the trigger on
//! `herald.jobs` sends the queue name whenever a statement makes jobs of that queue
//! runnable (now or later). Each queue's backend waits on its [`tokio::sync::Notify`].
//! After the listener reconnects, every queue is woken, since notifications sent while
//! it was away are lost.

use std::collections::HashMap;
use std::sync::Arc;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{Notify, watch};

use crate::db::{DbHealth, outage_backoff};

/// The NOTIFY channel.
pub(crate) const CHANNEL: &str = "herald_jobs";

/// Per-queue wake-up signals.
#[derive(Debug, Clone, Default)]
pub(crate) struct Wakeups {
    queues: Arc<HashMap<String, Arc<Notify>>>,
}

impl Wakeups {
    /// Signals for `queues`.
    pub(crate) fn new(queues: &[String]) -> Self {
        let queues = queues
            .iter()
            .map(|q| (q.clone(), Arc::new(Notify::new())))
            .collect();
        Self {
            queues: Arc::new(queues),
        }
    }

    /// The signal of `queue` (a fresh, never-fired one for an unknown queue).
    pub(crate) fn signal(&self, queue: &str) -> Arc<Notify> {
        self.queues.get(queue).cloned().unwrap_or_default()
    }

    /// Wakes `queue`'s backend (a wake-up is kept if nobody waits yet).
    pub(crate) fn wake(&self, queue: &str) {
        if let Some(n) = self.queues.get(queue) {
            n.notify_one();
        }
    }

    /// Wakes every queue.
    pub(crate) fn wake_all(&self) {
        self.queues.values().for_each(|n| n.notify_one());
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
                        Ok(Some(n)) => self.wake(n.payload()),
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
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
