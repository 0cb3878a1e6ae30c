//! [`PgQueue`]: the apalis-core `Backend` for one Herald queue.
//!
//! The worker polls it for tasks only when a concurrency slot is free. When its buffer
//! is empty it claims a batch of up to the concurrency limit (one round trip for the
//! batch; see `claim_size`), hands them out one by one, and when a claim comes back short it sleeps until a NOTIFY for its queue, the
//! next job's `run_at`, or the safety poll, whichever comes first. When its queue is
//! paused (announced on `herald_control`), it gives back the jobs it claimed but has not
//! handed out, without charge, before handing out another; the claim statement itself
//! claims nothing from a paused queue. Database errors never
//! reach apalis (which would stop the worker): the backend logs them through
//! [`DbHealth`] and retries with backoff, for as long as the outage lasts. On shutdown
//! ([`Backend::poll_close`]) jobs claimed but not started are released without charge.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::Task;
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use apalis_core::worker::context::WorkerContext;
use chrono::Utc;
use futures::FutureExt;
use futures::future::BoxFuture;
use sqlx::PgPool;
use tower::layer::util::Identity;
use tracing::{info, warn};

use super::claim::{self, ClaimedJob};
use super::holdings::Holdings;
use super::wakeup::QueueSignal;
use crate::db::{DbHealth, outage_backoff};
use crate::stored_time::StoredTime;

/// What one queue's backend needs to know.
#[derive(Debug, Clone)]
pub(crate) struct QueueSettings {
    /// The queue's name.
    pub(crate) queue: String,
    /// Job types this worker can run (only these are claimed).
    pub(crate) job_types: Vec<String>,
    /// This process's worker id.
    pub(crate) worker_id: String,
    /// Concurrency limit of the queue in this process.
    pub(crate) concurrency: usize,
    /// Safety poll interval.
    pub(crate) poll_interval: Duration,
}

struct Shared {
    pool: PgPool,
    settings: QueueSettings,
    health: Arc<DbHealth>,
    signal: Arc<QueueSignal>,
    in_flight: Arc<AtomicUsize>,
    holdings: Holdings,
}

struct Claimed {
    jobs: Vec<ClaimedJob>,
    next_due: Option<StoredTime>,
}

enum Fetch {
    Idle,
    Claiming(BoxFuture<'static, Result<Claimed, sqlx::Error>>, usize),
    Waiting(BoxFuture<'static, ()>),
    /// Giving back the buffer after a pause (finished by `poll_close` too, so the jobs
    /// are released or let go, never left held).
    Releasing(BoxFuture<'static, ()>),
}

/// The backend of one queue. Build one per apalis worker with [`PgQueue::new`].
pub(crate) struct PgQueue {
    shared: Arc<Shared>,
    buffer: VecDeque<ClaimedJob>,
    fetch: Fetch,
    delays: Box<dyn Iterator<Item = Duration> + Send>,
    closing: Option<BoxFuture<'static, ()>>,
}

impl PgQueue {
    /// A backend for `settings.queue`. `signal` is the queue's NOTIFY signal; `in_flight`
    /// counts attempts running now (shared with the dispatcher), which sizes claims;
    /// `holdings` receives every claimed job (its lease is renewed from then on).
    pub(crate) fn new(
        pool: PgPool,
        settings: QueueSettings,
        health: Arc<DbHealth>,
        signal: Arc<QueueSignal>,
        in_flight: Arc<AtomicUsize>,
        holdings: Holdings,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                pool,
                settings,
                health,
                signal,
                in_flight,
                holdings,
            }),
            buffer: VecDeque::new(),
            fetch: Fetch::Idle,
            delays: Box::new(outage_backoff()),
            closing: None,
        }
    }

    /// This backend with its first claim `delay` from now (a restarted queue worker
    /// backs off; see `supervise`).
    pub(crate) fn claiming_after(mut self, delay: Duration) -> Self {
        if !delay.is_zero() {
            self.fetch = Fetch::Waiting(tokio::time::sleep(delay).boxed());
        }
        self
    }

    /// How many jobs to claim: enough to keep at most twice the concurrency claimed and
    /// unfinished, capped at one concurrency's worth. Sizing claims by free slots instead
    /// made them one job each (slots free one by one), a round trip per job; the benchmark
    /// measured ≈ 2.5× the throughput with full batches. Jobs waiting in the buffer are
    /// held (their lease is renewed) and are released without charge on shutdown.
    fn claim_size(&self) -> usize {
        let concurrency = self.shared.settings.concurrency.max(1);
        let held = self.shared.in_flight.load(Ordering::Acquire) + self.buffer.len();
        (2 * concurrency).saturating_sub(held).clamp(1, concurrency)
    }

    fn start_claim(&mut self) {
        // A pause announced before this claim starts is seen by its snapshot (the
        // notification is sent at the pause's commit): whatever it claims is claimable.
        self.shared.signal.take_pause();
        let limit = self.claim_size();
        let shared = Arc::clone(&self.shared);
        let claim = async move {
            let s = &shared.settings;
            let jobs = claim::claim(
                &shared.pool,
                &s.worker_id,
                &s.queue,
                &s.job_types,
                limit as i64,
            )
            .await?;
            shared.holdings.hold(jobs.iter().map(|j| j.id));
            let next_due = if jobs.len() < limit {
                claim::next_due(&shared.pool, &s.queue, &s.job_types).await?
            } else {
                None
            };
            Ok(Claimed { jobs, next_due })
        };
        self.fetch = Fetch::Claiming(claim.boxed(), limit);
    }

    fn wait_for_work(&self, next_due: Option<StoredTime>) -> BoxFuture<'static, ()> {
        let poll = self.shared.settings.poll_interval;
        // A next run time out of range ('infinity') is never due: wait for the poll.
        let until_due = next_due
            .and_then(StoredTime::ok)
            .map(|at| (at - Utc::now()).to_std().unwrap_or(Duration::ZERO))
            .map_or(poll, |d| d.min(poll));
        let signal = Arc::clone(&self.shared.signal);
        async move {
            tokio::select! {
                _ = signal.wake.notified() => {}
                _ = tokio::time::sleep(until_due) => {}
            }
        }
        .boxed()
    }

    fn release_buffer(&mut self) -> Option<BoxFuture<'static, ()>> {
        if self.buffer.is_empty() {
            return None;
        }
        let ids: Vec<i64> = self.buffer.drain(..).map(|j| j.id).collect();
        let shared = Arc::clone(&self.shared);
        Some(
            async move {
                let worker = &shared.settings.worker_id;
                let released = claim::release(&shared.pool, worker, &ids).await;
                // Released or not, this process no longer holds them: unreleased, their
                // lease runs out and rescue returns them.
                shared.holdings.let_go(ids.iter().copied());
                match released {
                    Ok(n) => info!(queue = %shared.settings.queue, released = n, "released claimed jobs that had not started"),
                    Err(e) => warn!(
                        queue = %shared.settings.queue,
                        jobs = ids.len(),
                        error.message = %crate::sanitize::sanitize(&e.to_string()),
                        "could not release claimed jobs; rescue will return them when their lease expires"
                    ),
                }
            }
            .boxed(),
        )
    }
}

fn into_task(job: ClaimedJob) -> Task<ClaimedJob> {
    let id = TaskId::from_int(u64::try_from(job.id).unwrap_or_default());
    TaskBuilder::new(job).task_id(id).build()
}

impl Backend for PgQueue {
    type Task = Task<ClaimedJob>;
    type Error = Infallible;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Infallible>>> {
        loop {
            // Jobs claimed before a pause committed are given back, not started. The
            // buffer only holds jobs while no claim is in flight (see below), so no
            // claim is dropped here.
            if !self.buffer.is_empty() && self.shared.signal.take_pause() {
                if let Some(release) = self.release_buffer() {
                    self.fetch = Fetch::Releasing(release);
                }
                continue;
            }
            if let Some(job) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(into_task(job))));
            }
            match &mut self.fetch {
                Fetch::Idle => self.start_claim(),
                Fetch::Claiming(claim, limit) => {
                    let limit = *limit;
                    match ready!(claim.poll_unpin(cx)) {
                        Ok(Claimed { jobs, next_due }) => {
                            self.shared.health.ok();
                            self.delays = Box::new(outage_backoff());
                            let drained = jobs.len() < limit;
                            self.buffer.extend(jobs);
                            self.fetch = if drained {
                                Fetch::Waiting(self.wait_for_work(next_due))
                            } else {
                                Fetch::Idle
                            };
                        }
                        Err(e) => {
                            self.shared.health.failed("claim jobs", &e);
                            let delay = self.delays.next().unwrap_or(Duration::from_secs(5));
                            self.fetch = Fetch::Waiting(tokio::time::sleep(delay).boxed());
                        }
                    }
                }
                Fetch::Waiting(wait) | Fetch::Releasing(wait) => {
                    ready!(wait.poll_unpin(cx));
                    self.fetch = Fetch::Idle;
                }
            }
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Infallible>> {
        if let Fetch::Claiming(claim, _) = &mut self.fetch {
            if let Ok(Claimed { jobs, .. }) = ready!(claim.poll_unpin(cx)) {
                self.buffer.extend(jobs);
            }
            self.fetch = Fetch::Idle;
        }
        if let Fetch::Releasing(release) = &mut self.fetch {
            ready!(release.poll_unpin(cx));
            self.fetch = Fetch::Idle;
        }
        if self.closing.is_none() {
            self.closing = self.release_buffer();
        }
        if let Some(release) = &mut self.closing {
            ready!(release.poll_unpin(cx));
            self.closing = None;
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for PgQueue {
    /// A backend dropped with claimed, unstarted jobs (its worker died; shutdown releases
    /// them first) lets go of them: their lease runs out and rescue returns them.
    fn drop(&mut self) {
        self.shared
            .holdings
            .let_go(self.buffer.drain(..).map(|j| j.id));
    }
}

impl BackendConfig for PgQueue {
    type Args = ClaimedJob;
    type Id = i64;
    type Kind = Ephemeral;
    type Config = QueueSettings;
    type Layer = Identity;

    fn config(&self) -> &QueueSettings {
        &self.shared.settings
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Identity {
        Identity::new()
    }
}
