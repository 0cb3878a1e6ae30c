//! Running a worker: the registered job list and [`run`].
//!
//! `run` starts, per process: the finisher (group commit), the LISTEN task, heartbeats,
//! rescue, maintenance (unless `HERALD_MAINTENANCE_ENABLED=false`; one worker of the
//! fleet leads it), the storage metrics sampler (while `/metrics` is served), one cron scheduler per configured schedule, and one apalis worker per
//! configured queue (a `PgQueue` backend, a
//! concurrency limit, the `Dispatcher`) under an apalis `Monitor` that restarts a queue
//! worker that dies (see `supervise`). When `shutdown`
//! resolves, no new job is claimed, in-flight attempts get `shutdown_grace` to finish,
//! then the rest are interrupted and put back; claimed, unstarted jobs are released.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::monitor::Monitor;
use apalis_core::worker::builder::WorkerBuilder;
use herald_jobs::notify::{EmailJob, WebhookContext, WebhookJob};
use sqlx::PgPool;
use tokio::sync::{oneshot, watch};
use tracing::{info, warn};

use crate::audit::recorded::AttemptLog;
use crate::audit::{AttemptObserver, AttemptObservers, Finisher};
use crate::config::WorkerConfig;
use crate::db::{self, DbHealth};
use crate::dispatch::{DispatchShared, Dispatcher};
pub use crate::error::RunError;
use crate::queue::lease::RescueObservers;
use crate::queue::{Cancels, Holdings, PgQueue, QueueSettings, Wakeups, lease};
use crate::registry::Registry;
use crate::telemetry::alert::FailureRateAlert;
use crate::telemetry::metrics::Metrics;
use crate::telemetry::scrape;

/// After the grace period, how long the finisher keeps retrying before giving up.
const FINISH_DEADLINE_AFTER_GRACE: Duration = Duration::from_secs(10);

/// The job types `herald worker` runs, with their contexts built from `cfg`:
/// `notify.webhook`, and `notify.email` when `HERALD_SMTP_HOST` is set.
pub fn default_registry(cfg: &WorkerConfig) -> Result<Registry, RunError> {
    let keys = cfg.webhook_signing.keys.clone();
    let webhook =
        WebhookContext::with_pool(keys, cfg.webhook_timeout, cfg.webhook_pool).map_err(|e| {
            RunError::Setup {
                kind: "notify.webhook",
                message: e.to_string(),
            }
        })?;
    let registry = Registry::new().register::<WebhookJob>(webhook);
    match &cfg.email {
        Some(email) => Ok(registry.register::<EmailJob>(crate::email::context(email)?)),
        None => Ok(registry),
    }
}

/// Refuses to run `notify.webhook` without a signing key unless unsigned delivery was
/// chosen explicitly (then says so at WARN).
fn check_webhook_signing(cfg: &WorkerConfig, registry: &Registry) -> Result<(), RunError> {
    if !registry
        .kinds()
        .contains(&<WebhookJob as herald_jobs::Job>::KIND)
    {
        return Ok(());
    }
    cfg.webhook_signing
        .check()
        .map_err(|message| RunError::Setup {
            kind: "notify.webhook",
            message,
        })?;
    if cfg.webhook_signing.unsigned {
        warn!("HERALD_WEBHOOK_UNSIGNED=true: webhooks are delivered without a signature");
    }
    Ok(())
}

/// Connects, migrates, and runs `registry` until `shutdown` resolves and every attempt
/// has been recorded.
pub async fn run(
    cfg: WorkerConfig,
    registry: Registry,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    check_webhook_signing(&cfg, &registry)?;
    let pool = db::connect(&cfg.database_url, cfg.pool_size, cfg.acquire_timeout)
        .await
        .map_err(RunError::Connect)?;
    db::migrate(&pool).await?;
    run_with_pool(cfg, registry, pool, shutdown).await
}

/// [`run`] on an existing, migrated pool.
pub async fn run_with_pool(
    cfg: WorkerConfig,
    registry: Registry,
    pool: PgPool,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    crate::panic_guard::install_hook();
    let sentry = crate::sentry::init(cfg.sentry.as_ref());
    check_webhook_signing(&cfg, &registry)?;
    let schedules = crate::cron::scheduler::resolve(&cfg, &registry)?;
    register(&pool, &cfg, &registry)
        .await
        .map_err(RunError::Register)?;
    info!(
        worker.id = %cfg.worker_id,
        config = ?cfg,
        job_types = ?registry.kinds(),
        "worker starting"
    );
    let metrics = Arc::new(Metrics::new());
    for kind in registry.kinds() {
        metrics.job_type_registered(kind);
    }
    let health =
        Arc::new(DbHealth::new(cfg.outage_critical_after).with_observer(Arc::clone(&metrics) as _));
    let (stop_tx, stop_rx) = watch::channel(false);
    let metrics_server = match cfg.metrics_addr {
        Some(addr) => Some(
            scrape::serve(
                addr,
                Arc::clone(&metrics),
                pool.clone(),
                cfg.pool_size,
                stop_rx.clone(),
            )
            .await
            .map_err(|source| RunError::Metrics { addr, source })?,
        ),
        None => None,
    };
    let alert = Arc::new(FailureRateAlert::new(
        cfg.failure_rate,
        Arc::clone(&metrics),
        pool.clone(),
        cfg.worker_id.clone(),
    ));
    let observers = attempt_observers(&sentry, &metrics, &alert);
    let rescue_observers = RescueObservers {
        attempts: observers.clone(),
        rescued: {
            let metrics = Arc::clone(&metrics);
            Arc::new(move |count| metrics.rescued(count))
        },
    };
    rescue_left_behind(&pool, &cfg, &rescue_observers)
        .await
        .map_err(RunError::Register)?;
    let (hard_stop_tx, hard_stop_rx) = watch::channel(false);
    let (give_up_tx, give_up_rx) = watch::channel(false);
    let (finisher, finisher_task) = Finisher::spawn(pool.clone(), Arc::clone(&health), give_up_rx);
    let cancels = Cancels::new();
    let wakeups = Wakeups::new(&cfg.queue_names(), cancels.clone());
    let holdings = Holdings::new();
    let mut background = vec![
        tokio::spawn(
            wakeups
                .clone()
                .listen(pool.clone(), Arc::clone(&health), stop_rx.clone()),
        ),
        tokio::spawn(lease::heartbeat(
            pool.clone(),
            cfg.worker_id.clone(),
            holdings.clone(),
            cancels.clone(),
            cfg.heartbeat_interval,
            Arc::clone(&health),
            stop_rx.clone(),
        )),
        tokio::spawn(lease::rescue(
            pool.clone(),
            lease::RescueSettings {
                holdings: holdings.clone(),
                lease: cfg.lease,
                interval: cfg.rescue_interval,
                policy: cfg.retry,
            },
            Arc::clone(&health),
            rescue_observers,
            stop_rx.clone(),
        )),
        tokio::spawn(alert.run(stop_rx.clone())),
    ];
    if cfg.metrics_addr.is_some() {
        background.push(tokio::spawn(crate::telemetry::storage::run(
            pool.clone(),
            cfg.storage_metrics_interval,
            Arc::clone(&metrics),
            stop_rx.clone(),
        )));
    }
    if cfg.retention.enabled {
        background.push(tokio::spawn(crate::maintenance::run(
            pool.clone(),
            crate::maintenance::MaintenanceSettings {
                worker_id: cfg.worker_id.clone(),
                lease: cfg.lease,
                retention: cfg.retention.clone(),
            },
            Arc::clone(&metrics),
            stop_rx.clone(),
        )));
    }
    for entry in schedules {
        background.push(tokio::spawn(crate::cron::scheduler::run(
            pool.clone(),
            entry,
            Arc::clone(&health),
            stop_rx.clone(),
        )));
    }
    let shared = Arc::new(DispatchShared {
        registry: registry.clone(),
        worker_id: cfg.worker_id.clone(),
        retry: cfg.retry,
        finisher,
        hard_stop: hard_stop_rx,
        observers,
        holdings: holdings.clone(),
        cancels,
        cancel_grace: cfg.cancel_grace,
        pool: pool.clone(),
    });
    let monitor = build_monitor(&cfg, &registry, &pool, &health, &wakeups, &shared);
    drop(shared);

    let (started_tx, started_rx) = oneshot::channel::<()>();
    let grace = cfg.shutdown_grace;
    let deadline = tokio::spawn(async move {
        if started_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
            let _ = hard_stop_tx.send(true);
            tokio::time::sleep(FINISH_DEADLINE_AFTER_GRACE).await;
            let _ = give_up_tx.send(true);
        }
    });
    let signal = async move {
        shutdown.await;
        info!(
            grace_ms = grace.as_millis() as u64,
            "shutdown requested: claiming stops; in-flight attempts may finish"
        );
        let _ = started_tx.send(());
        Ok(())
    };
    let outcome = monitor.run_with_signal(signal).await;
    let _ = stop_tx.send(true);
    let _ = finisher_task.await;
    deadline.abort();
    for task in background.into_iter().chain(metrics_server) {
        let _ = task.await;
    }
    if let Err(e) = sqlx::query_file!("queries/workers/stopped.sql", &cfg.worker_id)
        .execute(&pool)
        .await
    {
        warn!(error.message = %crate::sanitize::sanitize(&e.to_string()), "could not mark the worker stopped");
    }
    info!(worker.id = %cfg.worker_id, "worker stopped");
    sentry.close().await;
    outcome.map_err(|e| RunError::Runtime(e.to_string()))
}

/// The attempt pipeline's observers, in the order they are told (see `audit::recorded`):
/// Sentry (when on), the log event, the metrics, the failure-rate alert.
fn attempt_observers(
    sentry: &crate::sentry::SentryGuard,
    metrics: &Arc<Metrics>,
    alert: &Arc<FailureRateAlert>,
) -> AttemptObservers {
    let mut observers: Vec<Arc<dyn AttemptObserver>> = Vec::new();
    observers.extend(sentry.observer());
    observers.push(Arc::new(AttemptLog));
    observers.push(Arc::clone(metrics) as _);
    observers.push(Arc::clone(alert) as _);
    AttemptObservers::new(observers)
}

fn build_monitor(
    cfg: &WorkerConfig,
    registry: &Registry,
    pool: &PgPool,
    health: &Arc<DbHealth>,
    wakeups: &Wakeups,
    shared: &Arc<DispatchShared>,
) -> Monitor {
    let job_types: Vec<String> = registry.kinds().into_iter().map(str::to_owned).collect();
    let mut monitor = crate::supervise::supervise(Monitor::new());
    for queue in &cfg.queues {
        let settings = QueueSettings {
            queue: queue.name.clone(),
            job_types: job_types.clone(),
            worker_id: cfg.worker_id.clone(),
            concurrency: queue.concurrency,
            poll_interval: cfg.poll_interval,
        };
        let name = format!("{}/{}", cfg.worker_id, queue.name);
        let (pool, health, shared) = (pool.clone(), Arc::clone(health), Arc::clone(shared));
        let signal = wakeups.signal(&queue.name);
        let in_flight = Arc::new(AtomicUsize::new(0));
        monitor = monitor.register(move |restarts| {
            let backend = PgQueue::new(
                pool.clone(),
                settings.clone(),
                Arc::clone(&health),
                Arc::clone(&signal),
                Arc::clone(&in_flight),
                shared.holdings.clone(),
            )
            .claiming_after(crate::supervise::restart_delay(restarts));
            WorkerBuilder::new(name.clone())
                .backend(backend)
                .concurrency(settings.concurrency)
                .build(Dispatcher::new(Arc::clone(&shared), Arc::clone(&in_flight)))
        });
    }
    monitor
}

async fn register(
    pool: &PgPool,
    cfg: &WorkerConfig,
    registry: &Registry,
) -> Result<(), sqlx::Error> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    sqlx::query_file!(
        "queries/workers/register.sql",
        &cfg.worker_id,
        hostname,
        i32::try_from(std::process::id()).unwrap_or(0),
        &cfg.queue_names()
    )
    .execute(pool)
    .await?;
    for (kind, queue, max_attempts) in registry.describe() {
        sqlx::query_file!(
            "queries/workers/register_job_type.sql",
            kind,
            queue,
            i32::try_from(max_attempts).unwrap_or(i32::MAX)
        )
        .execute(pool)
        .await?;
    }
    Ok(())
}

/// Rescues jobs a previous process with this worker id died holding, before claiming.
async fn rescue_left_behind(
    pool: &PgPool,
    cfg: &WorkerConfig,
    observers: &RescueObservers,
) -> Result<(), sqlx::Error> {
    let lost = lease::Lost::LeftBy {
        worker_id: &cfg.worker_id,
    };
    while lease::rescue_once(pool, lost, &cfg.retry, observers).await?
        == lease::RESCUE_BATCH as usize
    {}
    Ok(())
}

/// Resolves on SIGINT or SIGTERM (the usual `shutdown` argument of [`run`]). The
/// handlers are installed when this is called, not when the future is first polled, so
/// a signal that arrives during start-up is not lost. Call it inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            (Ok(mut one), Err(_)) | (Err(_), Ok(mut one)) => {
                one.recv().await;
            }
            (Err(e), Err(_)) => {
                warn!(error.message = %e, "cannot install signal handlers; stop the worker with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
}
