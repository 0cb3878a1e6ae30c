//! The apalis service that runs one claimed job: decode, run under a timeout and a panic
//! guard, classify once ([`decide`]), record the attempt through the group-commit
//! [`Finisher`], then hand it to the attempt pipeline ([`AttemptObservers`]: the log
//! event, metrics, the failure-rate alert, Sentry). The service's future resolves only
//! after the attempt is durable, so the concurrency slot is held until then.
//!
//! Cancellation (`herald cancel` of a running job): each attempt registers its
//! [`Cancellation`] in [`Cancels`] while its handler runs. Once it fires, the handler has
//! `HERALD_CANCEL_GRACE` to stop; then its future is dropped (aborted). Unless the
//! handler succeeded meanwhile, the attempt is recorded `cancelled` with the operator
//! and reason read from the request (the contract table is in `herald_jobs::cancel`).
//!
//! Each attempt runs in one span (target `herald::trace`, exported over OTLP when
//! configured; see the span table in `telemetry/mod.rs`) whose parent is the job's stored
//! `traceparent`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::task::Task;
use chrono::Utc;
use futures::future::BoxFuture;
use herald_jobs::{AttemptInfo, Cancellation, JobError, RetryPolicy};
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::field::Empty;
use tracing::{Instrument, Span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::audit::{
    AttemptKey, AttemptObservers, AttemptResult, CancelEnding, CancelledBy, FinishError, FinishRow,
    Finisher, RecordedJob, Transition, decide,
};
use crate::panic_guard::CatchPanic;
use crate::queue::{Cancels, ClaimedJob, Holdings};
use crate::registry::Registry;
use crate::telemetry::otel::{parent_context, trace_id_of};

/// What every attempt of this process shares.
pub(crate) struct DispatchShared {
    /// Registered job types.
    pub(crate) registry: Registry,
    /// This process's worker id.
    pub(crate) worker_id: String,
    /// Durable retry schedule.
    pub(crate) retry: RetryPolicy,
    /// Where finished attempts go.
    pub(crate) finisher: Finisher,
    /// Turns `true` when shutdown's grace period is over: running attempts stop.
    pub(crate) hard_stop: watch::Receiver<bool>,
    /// What is told about each recorded attempt (log, metrics, alert, Sentry).
    pub(crate) observers: AttemptObservers,
    /// The jobs this process holds: an attempt lets go of its job once it has ended.
    pub(crate) holdings: Holdings,
    /// The running attempts' cancellation signals.
    pub(crate) cancels: Cancels,
    /// How long a cancelled attempt's handler may take to stop (`HERALD_CANCEL_GRACE`).
    pub(crate) cancel_grace: Duration,
    /// Where a cancelled attempt's request (operator, reason) is read.
    pub(crate) pool: PgPool,
}

/// How a handler's run ended, before a cancellation's request is read.
#[derive(Debug)]
pub(crate) enum Ran {
    /// It ended on its own (or by timeout, panic or shutdown).
    Ended(AttemptResult),
    /// It was cancelled by an operator, and ended this way.
    Cancelled(CancelEnding),
}

/// The tower service apalis calls for each task of one queue.
#[derive(Clone)]
pub(crate) struct Dispatcher {
    shared: Arc<DispatchShared>,
    in_flight: Arc<AtomicUsize>,
}

impl Dispatcher {
    /// A dispatcher counting its running attempts in `in_flight`.
    pub(crate) fn new(shared: Arc<DispatchShared>, in_flight: Arc<AtomicUsize>) -> Self {
        Self { shared, in_flight }
    }
}

struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl tower::Service<Task<ClaimedJob>> for Dispatcher {
    type Response = ();
    type Error = FinishError;
    type Future = BoxFuture<'static, Result<(), FinishError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), FinishError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, task: Task<ClaimedJob>) -> Self::Future {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        let guard = InFlight(Arc::clone(&self.in_flight));
        let shared = Arc::clone(&self.shared);
        // Held until the attempt is recorded or the write is given up (the job then
        // stays running, its lease runs out and any rescuer, this one too, takes it).
        let held = shared.holdings.guard(task.args.id);
        Box::pin(async move {
            let result = shared.run(task.args).await;
            drop(held);
            drop(guard);
            result
        })
    }
}

impl DispatchShared {
    async fn run(&self, job: ClaimedJob) -> Result<(), FinishError> {
        let span = tracing::info_span!(
            target: "herald::trace",
            "job.attempt",
            otel.name = %format_args!("process {}", job.queue),
            otel.kind = "consumer",
            otel.status_code = Empty,
            otel.status_description = Empty,
            messaging.system = "herald",
            messaging.operation = "process",
            messaging.destination.name = %job.queue,
            messaging.message.id = %job.id,
            herald.job.type = %job.job_type,
            herald.attempt = job.attempt,
            herald.max_attempts = job.max_attempts,
            herald.worker.id = %self.worker_id,
            herald.outcome = Empty,
            error.type = Empty,
        );
        // Without an OpenTelemetry layer the span is disabled and both calls are no-ops.
        let _ = span.set_parent(parent_context(job.trace_context.as_deref()));
        let trace_id = trace_id_of(&span.context()).or_else(|| job.trace_id());
        self.attempt(job, trace_id, &span)
            .instrument(span.clone())
            .await
    }

    async fn attempt(
        &self,
        job: ClaimedJob,
        trace_id: Option<String>,
        span: &Span,
    ) -> Result<(), FinishError> {
        let started_at = Utc::now();
        let registered = self.cancels.register(job.id, job.attempt);
        let ran = Self::execute(
            &self.registry,
            &self.worker_id,
            &job,
            self.hard_stop.clone(),
            (registered.signal(), self.cancel_grace),
        )
        .await;
        drop(registered);
        let result = match ran {
            Ran::Ended(result) => result,
            Ran::Cancelled(ending) => {
                AttemptResult::Cancelled(self.cancelled_by(&job, ending).await?)
            }
        };
        let panicked = matches!(result, AttemptResult::Panicked(_));
        let finished_at = Utc::now();
        let (attempt, max_attempts) = (job.attempt_number(), job.max_attempts_number());
        let transition = decide(
            attempt,
            max_attempts,
            result,
            &self.retry,
            finished_at,
            rand::random(),
        );
        record_outcome(span, &transition);
        let key = self.attempt_key(&job, started_at, finished_at, trace_id);
        let applied = self
            .finisher
            .finish(FinishRow::new(key.clone(), &transition))
            .await?;
        if applied {
            let recorded = RecordedJob {
                job_type: &job.job_type,
                queue: &job.queue,
                max_attempts,
            };
            self.observers
                .recorded(recorded, &key, &transition, panicked)
                .await;
        } else {
            warn!(
                job.id = job.id,
                job.r#type = %job.job_type,
                job.attempt = attempt,
                outcome = transition.outcome.as_str(),
                "attempt finished after its lease had expired and been rescued, or as an operator cancelled it; the rescue records it"
            );
        }
        Ok(())
    }

    /// The operator's request that cancelled attempt `job`, which ended `ending`. A
    /// request that cannot be read leaves the attempt unrecorded (an error): the job
    /// stays running, its lease runs out, and the rescue ends it `cancelled`.
    async fn cancelled_by(
        &self,
        job: &ClaimedJob,
        ending: CancelEnding,
    ) -> Result<CancelledBy, FinishError> {
        let request = sqlx::query_file!("queries/queue/cancel_request.sql", job.id, job.attempt)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| {
                warn!(
                    job.id = job.id,
                    job.attempt = job.attempt,
                    error.message = %crate::sanitize::sanitize(&e.to_string()),
                    "cannot read the cancel request of a stopped attempt; the rescue of its lease will record it"
                );
                FinishError::Database(Arc::new(e))
            })?;
        // The signal fires only for a stored request, so it is there; were it not,
        // the attempt is still recorded as cancelled, by an unknown operator.
        Ok(match request {
            Some(r) => CancelledBy {
                actor: r.actor,
                reason: r.reason,
                ending,
            },
            None => CancelledBy {
                actor: "an unknown operator".to_owned(),
                reason: None,
                ending,
            },
        })
    }

    /// Runs `job`'s handler from `registry` under its timeout and the panic guard until it
    /// ends or `hard_stop` turns true: the attempt's result, not yet classified. When
    /// `cancel`'s signal fires first, the handler gets its grace period to stop, then
    /// is dropped. Also the inline run of `crate::testing` (no queue), so both run
    /// handlers one way.
    pub(crate) async fn execute(
        registry: &Registry,
        worker_id: &str,
        job: &ClaimedJob,
        mut hard_stop: watch::Receiver<bool>,
        (cancel, grace): (&Cancellation, Duration),
    ) -> Ran {
        // A run time out of chrono's range ('-infinity') was written around enqueue's
        // validation: the job fails on its own, terminally, with its audit row.
        if let Err(out_of_range) = job.run_at.get() {
            return Ran::Ended(AttemptResult::Failed(JobError::validation(
                "run_at",
                format!("the stored run time is {out_of_range}; the job was not run"),
            )));
        }
        let Some(handler) = registry.handler(&job.job_type) else {
            return Ran::Ended(AttemptResult::Failed(JobError::validation(
                "job_type",
                "no handler is registered for this job type",
            )));
        };
        let info = AttemptInfo {
            job_id: job.id,
            attempt: job.attempt_number(),
            max_attempts: job.max_attempts_number(),
            worker_id: worker_id.to_owned(),
            cancel: cancel.clone(),
        };
        let timeout = handler.timeout();
        let guarded = CatchPanic::new(handler.run(job.payload.clone(), info));
        let run = tokio::time::timeout(timeout, guarded);
        tokio::pin!(run);
        tokio::select! {
            outcome = &mut run => return Ran::Ended(match outcome {
                Err(_) => AttemptResult::Failed(JobError::timeout(format!(
                    "attempt exceeded its {} ms timeout",
                    timeout.as_millis()
                ))),
                Ok(Err(panic)) => AttemptResult::Panicked(panic),
                Ok(Ok(Ok(()))) => AttemptResult::Succeeded,
                Ok(Ok(Err(error))) => AttemptResult::Failed(error),
            }),
            Ok(_) = hard_stop.wait_for(|stop| *stop) => return Ran::Ended(AttemptResult::Interrupted),
            () = cancel.cancelled() => {}
        }
        match tokio::time::timeout(grace, &mut run).await {
            // The work was done before the handler could stop: it stands.
            Ok(Ok(Ok(Ok(())))) => Ran::Ended(AttemptResult::Succeeded),
            Ok(_) => Ran::Cancelled(CancelEnding::Stopped),
            // Dropping `run` (on return) aborts the handler at its next `.await`.
            Err(_) => Ran::Cancelled(CancelEnding::Aborted(grace)),
        }
    }

    fn attempt_key(
        &self,
        job: &ClaimedJob,
        started_at: chrono::DateTime<Utc>,
        finished_at: chrono::DateTime<Utc>,
        trace_id: Option<String>,
    ) -> AttemptKey {
        AttemptKey {
            job_id: job.id,
            attempt: job.attempt,
            worker_id: self.worker_id.clone(),
            started_at,
            finished_at,
            trace_id,
        }
    }
}

/// Records the attempt's outcome on its span: `herald.outcome`, and for a failure
/// `error.type`, status Error, and on a retry the `retry scheduled` event.
fn record_outcome(span: &Span, t: &Transition) {
    span.record("herald.outcome", t.outcome.as_str());
    let Some(failure) = t.failure.as_ref() else {
        return;
    };
    span.record("error.type", failure.code.as_str());
    span.record("otel.status_code", "error");
    span.record("otel.status_description", failure.message.as_str());
    if let Some(next) = t.next_run_at {
        tracing::info!(
            target: "herald::trace",
            parent: span,
            {
                herald.next_run_at = %next.to_rfc3339(),
                error.type = failure.code.as_str(),
            },
            "retry scheduled"
        );
    }
}
