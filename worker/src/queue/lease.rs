//! Leases: heartbeats renew them, rescue reclaims the expired ones.
//!
//! Every worker process renews the lease (`heartbeat_at`) of each job it holds (see
//! [`Holdings`]: claimed and not yet recorded) every heartbeat interval. Every process
//! also runs rescue: a running job whose lease expired is run by nobody (its worker
//! died, lost the database for longer than the lease, or never learnt of its claim).
//! Its lost attempt is audited `abandoned` with `WORKER_LOST`, and the retry policy and
//! the attempt cap apply, so a job that keeps killing its workers ends `dead` instead of
//! looping. Rescuers skip rows another rescuer holds, so any number can run.
//!
//! Cancellation: each heartbeat also returns the operator's cancel requests pending for
//! the jobs it renewed, and fires their attempts' signals ([`Cancels`]), so a request
//! whose notification was missed still arrives. Rescue ends a job with a cancel request
//! for its lost attempt as `cancelled` (audited, naming the operator), never reruns it.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_jobs::RetryPolicy;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::info;

use super::cancels::Cancels;
use super::holdings::Holdings;
use crate::audit::finisher::write_batch;
use crate::audit::{
    AttemptKey, AttemptObservers, AttemptResult, CancelEnding, CancelledBy, FinishRow, RecordedJob,
    Transition, decide,
};
use crate::db::DbHealth;
use crate::stored_time::StoredTime;

/// Most expired jobs one rescue pass takes.
pub(crate) const RESCUE_BATCH: i64 = 500;

/// Renews the leases of the jobs in `holdings` every `interval` (and marks worker
/// `worker_id` alive) until `stop` turns true; fires the signals in `cancels` of the
/// renewed jobs an operator asked to cancel.
pub(crate) async fn heartbeat(
    pool: PgPool,
    worker_id: String,
    holdings: Holdings,
    cancels: Cancels,
    interval: Duration,
    health: Arc<DbHealth>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match beat(&pool, &worker_id, &holdings.snapshot()).await {
            Ok(requested) => {
                health.ok();
                for (job_id, attempt) in requested {
                    cancels.cancel(job_id, attempt);
                }
            }
            Err(e) => {
                health.failed("heartbeat", &e);
            }
        }
    }
}

/// Renews the leases of `held` and the worker's own heartbeat; returns the renewed
/// attempts (job id, attempt) with a pending cancel request.
async fn beat(
    pool: &PgPool,
    worker_id: &str,
    held: &[i64],
) -> Result<Vec<(i64, i32)>, sqlx::Error> {
    let mut requested = Vec::new();
    if !held.is_empty() {
        requested = sqlx::query_file!("queries/queue/heartbeat.sql", worker_id, held)
            .fetch_all(pool)
            .await?
            .into_iter()
            .map(|r| (r.job_id, r.attempt))
            .collect();
    }
    sqlx::query_file!("queries/workers/heartbeat.sql", worker_id)
        .execute(pool)
        .await?;
    Ok(requested)
}

/// What [`rescue`] runs with.
#[derive(Debug, Clone)]
pub(crate) struct RescueSettings {
    /// The jobs this process holds (alive, so never rescued by it).
    pub(crate) holdings: Holdings,
    /// A lease older than this has expired.
    pub(crate) lease: Duration,
    /// How often to look.
    pub(crate) interval: Duration,
    /// The retry schedule for rescued jobs.
    pub(crate) policy: RetryPolicy,
}

/// Who hears about a rescue pass: the attempt pipeline for each rescued attempt, and a
/// count of the attempts rescued (`herald_attempts_rescued_total`).
#[derive(Clone)]
pub(crate) struct RescueObservers {
    /// Told about each rescued attempt once its record committed.
    pub(crate) attempts: AttemptObservers,
    /// Called with the number of attempts one pass rescued.
    pub(crate) rescued: Arc<dyn Fn(usize) + Send + Sync>,
}

/// Runs [`rescue_once`] every `interval` (± 20 % jitter) until `stop` turns true.
pub(crate) async fn rescue(
    pool: PgPool,
    settings: RescueSettings,
    health: Arc<DbHealth>,
    observers: RescueObservers,
    mut stop: watch::Receiver<bool>,
) {
    let RescueSettings {
        holdings,
        lease,
        interval,
        policy,
    } = settings;
    loop {
        let jittered = interval.mul_f64(0.8 + 0.4 * rand::random::<f64>());
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(jittered) => {}
        }
        let held = holdings.snapshot();
        let lost = Lost::Expired { held: &held, lease };
        match rescue_once(&pool, lost, &policy, &observers).await {
            Ok(_) => health.ok(),
            Err(e) => health.failed("rescue expired leases", &e),
        };
    }
}

struct StaleJob {
    id: i64,
    job_type: String,
    queue: String,
    attempt: i32,
    max_attempts: i32,
    locked_by: Option<String>,
    claimed_at: Option<StoredTime>,
    trace_context: Option<String>,
    cancel_actor: Option<String>,
    cancel_reason: Option<String>,
}

impl StaleJob {
    /// How its lost attempt ended: cancelled when an operator asked, else abandoned.
    fn result(&self) -> AttemptResult {
        match &self.cancel_actor {
            Some(actor) => AttemptResult::Cancelled(CancelledBy {
                actor: actor.clone(),
                reason: self.cancel_reason.clone(),
                ending: CancelEnding::WorkerGone,
            }),
            None => AttemptResult::Abandoned,
        }
    }
}

/// Which running jobs a rescue pass takes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Lost<'a> {
    /// Jobs whose lease expired `lease` ago, except those the rescuing process holds.
    Expired {
        /// The jobs the rescuing process holds (alive, whatever their lease says).
        held: &'a [i64],
        /// The lease length.
        lease: Duration,
    },
    /// Jobs still held by `worker_id` when a process with that id starts: its
    /// predecessor died holding them, so they need not wait for the lease.
    LeftBy {
        /// The starting worker's id.
        worker_id: &'a str,
    },
}

/// One rescue pass: audits every attempt `lost` selects as `abandoned` and reschedules
/// or kills its job (or, when an operator asked to cancel it, audits it `cancelled` and
/// ends it), in one transaction. Returns how many it rescued (at most
/// [`RESCUE_BATCH`]).
pub(crate) async fn rescue_once(
    pool: &PgPool,
    lost: Lost<'_>,
    policy: &RetryPolicy,
    observers: &RescueObservers,
) -> Result<usize, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stale: Vec<StaleJob> = match lost {
        Lost::Expired { held, lease } => {
            sqlx::query_file_as!(
                StaleJob,
                "queries/queue/stale.sql",
                lease.as_secs_f64(),
                RESCUE_BATCH,
                held
            )
            .fetch_all(&mut *tx)
            .await?
        }
        Lost::LeftBy { worker_id } => {
            sqlx::query_file_as!(
                StaleJob,
                "queries/queue/left_by.sql",
                worker_id,
                RESCUE_BATCH
            )
            .fetch_all(&mut *tx)
            .await?
        }
    };
    if stale.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let now = Utc::now();
    let decided: Vec<(StaleJob, Transition)> = stale
        .into_iter()
        .map(|job| {
            let attempt = u32::try_from(job.attempt).unwrap_or(0);
            let max = u32::try_from(job.max_attempts).unwrap_or(1);
            let t = decide(attempt, max, job.result(), policy, now, rand::random());
            (job, t)
        })
        .collect();
    let keys: Vec<AttemptKey> = decided
        .iter()
        .map(|(job, _)| attempt_key(job, now))
        .collect();
    let rows: Vec<FinishRow> = decided
        .iter()
        .zip(&keys)
        .map(|((_, t), key)| FinishRow::new(key.clone(), t))
        .collect();
    let refs: Vec<&FinishRow> = rows.iter().collect();
    let applied = write_batch(&mut *tx, &refs).await?;
    tx.commit().await?;
    let recorded = decided.iter().zip(&keys);
    for ((job, t), key) in recorded.filter(|((job, _), _)| applied.contains(&job.id)) {
        let job = RecordedJob {
            job_type: &job.job_type,
            queue: &job.queue,
            max_attempts: u32::try_from(job.max_attempts).unwrap_or(1),
        };
        observers.attempts.recorded(job, key, t, false).await;
    }
    (observers.rescued)(applied.len());
    info!(
        rescued = applied.len(),
        "rescued jobs whose worker stopped heartbeating"
    );
    Ok(applied.len())
}

fn attempt_key(job: &StaleJob, now: DateTime<Utc>) -> AttemptKey {
    AttemptKey {
        job_id: job.id,
        attempt: job.attempt,
        worker_id: job.locked_by.clone().unwrap_or_default(),
        started_at: job.claimed_at.and_then(StoredTime::ok).unwrap_or(now),
        finished_at: now,
        trace_id: job
            .trace_context
            .as_deref()
            .and_then(herald_jobs::traceparent::trace_id),
    }
}
