//! Queue workers that die are restarted: a process never keeps heartbeating while one of
//! its queues runs nothing.
//!
//! apalis' `Monitor` catches a panic (or an error) that ends one queue's worker and, by
//! default, leaves that queue dead while every other task of the process (heartbeats,
//! rescue, metrics) goes on, so the worker looks healthy. [`supervise`] makes the monitor
//! restart it instead: each death is one ERROR event with the queue's
//! worker name, the restart count and the cause, and the restarted worker waits
//! [`restart_delay`] before its first claim, so a failure that repeats costs at most one
//! claim per 30 s. Only shutdown stops a queue for good ([`crate::queue::PgQueue`]'s
//! stream never ends by itself, so a worker ends only by shutdown or by failing). A job
//! claimed by the dead worker and not yet started, or whose attempt it was running, stays
//! `running`: its lease is no longer renewed and rescue returns it (an attempt cut short is
//! audited `abandoned`, as for any worker death).

use std::time::Duration;

use apalis_core::error::WorkerError;
use apalis_core::monitor::Monitor;
use apalis_core::worker::context::WorkerContext;
use tracing::error;

/// The first restart's delay; each further restart doubles it.
const FIRST_RESTART_DELAY: Duration = Duration::from_millis(100);
/// The longest delay before a restarted queue worker claims again.
const MAX_RESTART_DELAY: Duration = Duration::from_secs(30);

/// How long a queue worker restarted `restarts` times waits before it claims: none for
/// the first start, then 100 ms doubling per restart, at most 30 s.
pub(crate) fn restart_delay(restarts: usize) -> Duration {
    if restarts == 0 {
        return Duration::ZERO;
    }
    let doublings = u32::try_from(restarts - 1).unwrap_or(u32::MAX).min(16);
    FIRST_RESTART_DELAY
        .saturating_mul(1 << doublings)
        .min(MAX_RESTART_DELAY)
}

/// `monitor`, restarting any worker that panics or fails unless the process is shutting
/// down (see the module docs).
pub(crate) fn supervise(monitor: Monitor) -> Monitor {
    monitor.should_restart(restart_unless_stopping)
}

fn restart_unless_stopping(ctx: &WorkerContext, cause: &WorkerError) -> bool {
    if ctx.is_shutting_down() {
        return false;
    }
    let restarts = ctx.restarts() + 1;
    let name = ctx.name();
    error!(
        worker.name = %name,
        restarts,
        delay_ms = restart_delay(restarts).as_millis() as u64,
        error.message = %crate::sanitize::sanitize(&cause.to_string()),
        "a queue worker stopped; restarting it"
    );
    true
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::task::{Context, Poll};

    use apalis_core::backend::finalize::Ephemeral;
    use apalis_core::backend::{Backend, BackendConfig};
    use apalis_core::task::Task;
    use apalis_core::task::builder::TaskBuilder;
    use apalis_core::worker::builder::WorkerBuilder;
    use tokio::sync::mpsc;
    use tower::layer::util::Identity;

    use super::*;

    /// A backend whose first start panics while fetching (as a claim that cannot decode
    /// a row did) and whose restarts hand out one task.
    struct Injected {
        panics: bool,
        task: Option<u32>,
        config: (),
    }

    impl Backend for Injected {
        type Task = Task<u32>;
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
            _: &mut Context<'_>,
            _: &WorkerContext,
        ) -> Poll<Option<Result<Task<u32>, Infallible>>> {
            assert!(
                !self.panics,
                "injected failure: a claim that cannot be read"
            );
            match self.task.take() {
                Some(n) => Poll::Ready(Some(Ok(TaskBuilder::new(n).build()))),
                None => Poll::Pending,
            }
        }

        fn poll_close(
            &mut self,
            _: &mut Context<'_>,
            _: &WorkerContext,
        ) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }
    }

    impl BackendConfig for Injected {
        type Args = u32;
        type Id = u64;
        type Kind = Ephemeral;
        type Config = ();
        type Layer = Identity;

        fn config(&self) -> &() {
            &self.config
        }

        fn middleware(&mut self, _: &mut WorkerContext) -> Identity {
            Identity::new()
        }
    }

    #[tokio::test]
    async fn a_queue_worker_that_panics_is_restarted_and_runs_its_jobs() {
        let (ran_tx, mut ran_rx) = mpsc::unbounded_channel::<u32>();
        let monitor = supervise(Monitor::new()).register(move |restarts| {
            let ran = ran_tx.clone();
            WorkerBuilder::new("w/q")
                .backend(Injected {
                    panics: restarts == 0,
                    task: Some(7),
                    config: (),
                })
                .build(tower::service_fn(move |task: Task<u32>| {
                    let _ = ran.send(task.args);
                    async { Ok::<(), Infallible>(()) }
                }))
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let run = tokio::spawn(monitor.run_with_signal(async move {
            let _ = stop_rx.await;
            Ok(())
        }));
        // A bound so that a dead queue fails the test instead of hanging it.
        let ran = tokio::time::timeout(Duration::from_secs(30), ran_rx.recv()).await;
        let _ = stop_tx.send(());
        assert_eq!(
            ran.ok().flatten(),
            Some(7),
            "the restarted worker ran the job"
        );
        let _ = run.await;
    }

    #[test]
    fn restart_delays_double_from_100_ms_up_to_30_s() {
        let delays: Vec<u64> = [0, 1, 2, 3, 9, 10, 1000, usize::MAX]
            .map(|n| restart_delay(n).as_millis() as u64)
            .to_vec();
        assert_eq!(delays, [0, 100, 200, 400, 25_600, 30_000, 30_000, 30_000]);
    }
}
