//! Group commit of finished attempts.
//!
//! Every finished attempt is sent to one [`Finisher`] task per process. When its writer
//! (or one of its `WRITES_IN_FLIGHT` writers) is free it takes what has queued up (at most
//! `MAX_BATCH`), writes all of it with ONE statement (`audit/finish_attempts.sql`: each
//! job's update and its audit row together), and only then answers each sender. So an
//! attempt is acknowledged only once it is durable, and while writes are in flight the
//! next batch gathers: the busier the worker, the fewer round trips per attempt.
//!
//! While the database is unreachable the batch is retried with backoff (the attempts
//! stay `running`, their leases are renewed by nothing, and rescue would find them if
//! this process died). After `Finisher::give_up` (shutdown's deadline) a failed write
//! is reported to its senders instead of retried.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, PgPool};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tracing::error;

use super::outcome::Transition;
use crate::db::{DbHealth, outage_backoff};

/// Most attempts written by one statement.
pub(crate) const MAX_BATCH: usize = 512;

/// Batches written concurrently (each on its own connection). A finished attempt holds
/// its concurrency slot until its batch commits. One write at a time makes the fewest,
/// largest commits: on a quiet machine it beat three writes in flight by 10–25 % at
/// every setting measured (BENCHMARKS.md, "found" 10); three had looked better in runs
/// on a machine loaded by other builds, where the time waiting for the write in flight
/// dominated.
pub(crate) const WRITES_IN_FLIGHT: usize = 1;

/// One finished attempt, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishRow {
    /// The job.
    pub job_id: i64,
    /// The attempt number being finished.
    pub attempt: i32,
    /// The worker that held the job (the row applies only if it still does).
    pub worker_id: String,
    /// The job's next state.
    pub job_state: &'static str,
    /// When it runs next.
    pub next_run_at: Option<DateTime<Utc>>,
    /// The audit outcome.
    pub outcome: &'static str,
    /// Error code, if failed.
    pub error_code: Option<&'static str>,
    /// Error class, if failed.
    pub error_class: Option<&'static str>,
    /// Sanitised message, if failed.
    pub message: Option<String>,
    /// Sanitised full cause chain, if failed (`herald.attempts.error_chain`).
    pub error_chain: Option<String>,
    /// When the attempt started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// The trace the attempt ran in.
    pub trace_id: Option<String>,
}

/// Which attempt a [`FinishRow`] finishes: everything but the decision.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AttemptKey {
    /// The job.
    pub(crate) job_id: i64,
    /// The attempt number.
    pub(crate) attempt: i32,
    /// The worker that held the job.
    pub(crate) worker_id: String,
    /// When the attempt started.
    pub(crate) started_at: DateTime<Utc>,
    /// When it finished.
    pub(crate) finished_at: DateTime<Utc>,
    /// The trace the attempt ran in.
    pub(crate) trace_id: Option<String>,
}

impl FinishRow {
    /// The row that records `transition` for attempt `key`.
    pub(crate) fn new(key: AttemptKey, transition: &Transition) -> Self {
        let failure = transition.failure.as_ref();
        Self {
            job_id: key.job_id,
            attempt: key.attempt,
            worker_id: key.worker_id,
            job_state: transition.job_state.as_str(),
            next_run_at: transition.next_run_at,
            outcome: transition.outcome.as_str(),
            error_code: failure.map(|f| f.code.as_str()),
            error_class: failure.map(|f| f.class.as_str()),
            message: failure
                .map(|f| f.message.clone())
                .or_else(|| transition.note.clone()),
            error_chain: failure.map(|f| f.chain.clone()),
            started_at: key.started_at,
            finished_at: key.finished_at,
            trace_id: key.trace_id,
        }
    }
}

/// A finished attempt could not be recorded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FinishError {
    /// The finisher has stopped (the worker is shutting down past its deadline).
    #[error("the finisher has stopped; the attempt stays running and will be rescued")]
    Stopped,
    /// The database rejected the record, or could not be reached before shutdown's
    /// deadline. Holds the database's own error (shared: one failed write answers every
    /// attempt of its batch).
    #[error("could not record the attempt: {0}")]
    Database(#[source] Arc<sqlx::Error>),
}

impl FinishError {
    /// The database's error, when the write failed there.
    pub fn database_error(&self) -> Option<&sqlx::Error> {
        match self {
            Self::Database(e) => Some(e),
            Self::Stopped => None,
        }
    }
}

struct Request {
    row: FinishRow,
    done: oneshot::Sender<Result<bool, Arc<sqlx::Error>>>,
}

/// Handle to the process's finisher task. Cheap to clone.
#[derive(Clone)]
pub struct Finisher {
    tx: mpsc::Sender<Request>,
}

impl Finisher {
    /// Starts the finisher task on `pool`. Set `give_up` to `true` to stop retrying
    /// failed writes (shutdown's deadline). The task ends when every handle is dropped.
    pub fn spawn(
        pool: PgPool,
        health: Arc<DbHealth>,
        give_up: watch::Receiver<bool>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(MAX_BATCH * 8);
        let task = tokio::spawn(run(pool, rx, health, give_up));
        (Self { tx }, task)
    }

    /// Records `row`; resolves after the commit. `Ok(false)` means the job was no longer
    /// held by this attempt (a rescue took it), so nothing was written for it.
    pub async fn finish(&self, row: FinishRow) -> Result<bool, FinishError> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send(Request { row, done })
            .await
            .map_err(|_| FinishError::Stopped)?;
        match answer.await {
            Ok(Ok(applied)) => Ok(applied),
            Ok(Err(e)) => Err(FinishError::Database(e)),
            Err(_) => Err(FinishError::Stopped),
        }
    }
}

async fn run(
    pool: PgPool,
    mut rx: mpsc::Receiver<Request>,
    health: Arc<DbHealth>,
    give_up: watch::Receiver<bool>,
) {
    let writers = Arc::new(Semaphore::new(WRITES_IN_FLIGHT));
    let mut in_flight = JoinSet::new();
    loop {
        // Wait for a free writer BEFORE taking requests: while every writer is busy,
        // finished attempts gather into the next, larger batch.
        let Ok(writer) = Arc::clone(&writers).acquire_owned().await else {
            break;
        };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            break;
        }
        let (pool, health, give_up) = (pool.clone(), Arc::clone(&health), give_up.clone());
        in_flight.spawn(async move {
            let rows: Vec<&FinishRow> = batch.iter().map(|r| &r.row).collect();
            let answers = finish_rows(&pool, &rows, &health, &give_up).await;
            for (request, answer) in batch.into_iter().zip(answers) {
                // A sender that went away (its worker was dropped) needs no answer.
                let _ = request.done.send(answer);
            }
            drop(writer);
        });
        // Reap finished writes so the set does not grow.
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

type Answer = Result<bool, Arc<sqlx::Error>>;

/// Writes `rows` as one batch. If the database rejects the batch (rather than being
/// unreachable), each row is written on its own, so one bad row cannot hold back the
/// others; a row rejected on its own is logged at ERROR and reported to its sender.
async fn finish_rows(
    pool: &PgPool,
    rows: &[&FinishRow],
    health: &DbHealth,
    give_up: &watch::Receiver<bool>,
) -> Vec<Answer> {
    match write_until_done(pool, rows, health, give_up).await {
        Ok(applied) => rows
            .iter()
            .map(|r| Ok(applied.contains(&r.job_id)))
            .collect(),
        Err(WriteError::GaveUp(e)) => rows.iter().map(|_| Err(Arc::clone(&e))).collect(),
        Err(WriteError::Rejected(_)) if rows.len() > 1 => {
            let mut answers = Vec::with_capacity(rows.len());
            for row in rows {
                answers.extend(Box::pin(finish_rows(pool, &[*row], health, give_up)).await);
            }
            answers
        }
        Err(WriteError::Rejected(e)) => {
            let row = rows.first();
            error!(
                job.id = row.map(|r| r.job_id),
                job.attempt = row.map(|r| r.attempt),
                outcome = row.map(|r| r.outcome),
                error.message = %crate::sanitize::sanitize(&e.to_string()),
                "the database rejected an attempt's record; the job stays running and rescue will audit it as abandoned"
            );
            vec![Err(e)]
        }
    }
}

enum WriteError {
    /// Shutdown's deadline passed while the database was unreachable.
    GaveUp(Arc<sqlx::Error>),
    /// The database answered with an error: retrying the same statement cannot help.
    Rejected(Arc<sqlx::Error>),
}

async fn write_until_done(
    pool: &PgPool,
    rows: &[&FinishRow],
    health: &DbHealth,
    give_up: &watch::Receiver<bool>,
) -> Result<HashSet<i64>, WriteError> {
    let mut delays = outage_backoff();
    loop {
        match write_batch(pool, rows).await {
            Ok(applied) => {
                health.ok();
                return Ok(applied);
            }
            // The server answered, refusing this statement (not shutting down or
            // starting up: that is an outage, retried below).
            Err(e @ sqlx::Error::Database(_)) if !crate::db::server_unavailable(&e) => {
                health.ok();
                return Err(WriteError::Rejected(Arc::new(e)));
            }
            Err(e) if *give_up.borrow() => {
                error!(
                    attempts = rows.len(),
                    error.message = %crate::sanitize::sanitize(&e.to_string()),
                    "could not record finished attempts before shutdown; they stay running and will be rescued as abandoned"
                );
                return Err(WriteError::GaveUp(Arc::new(e)));
            }
            Err(e) => {
                health.failed("finish attempts", &e);
                if let Some(delay) = delays.next() {
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }
}

/// Writes `rows` with one statement; returns the job ids that applied.
pub(crate) async fn write_batch<'c>(
    executor: impl PgExecutor<'c>,
    rows: &[&FinishRow],
) -> Result<HashSet<i64>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.job_id).collect();
    // `as _`: the macro checks an array parameter against `&[String]` (or `&[T]`); these
    // bind borrowed `&str`s and `Option`s without copying, and the statement casts each
    // array to its type (`$3::text[]`, ...).
    let applied: Vec<i64> = sqlx::query_file_scalar!(
        "queries/audit/finish_attempts.sql",
        &ids,
        &rows.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|r| r.worker_id.as_str())
            .collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.job_state).collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.next_run_at).collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.outcome).collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.error_code).collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.error_class).collect::<Vec<_>>() as _,
        &rows
            .iter()
            .map(|r| r.message.as_deref())
            .collect::<Vec<_>>() as _,
        &rows.iter().map(|r| r.started_at).collect::<Vec<_>>(),
        &rows.iter().map(|r| r.finished_at).collect::<Vec<_>>(),
        &rows
            .iter()
            .map(|r| r.trace_id.as_deref())
            .collect::<Vec<_>>() as _,
        &rows
            .iter()
            .map(|r| r.error_chain.as_deref())
            .collect::<Vec<_>>() as _
    )
    .fetch_all(executor)
    .await?;
    Ok(applied.into_iter().collect())
}
