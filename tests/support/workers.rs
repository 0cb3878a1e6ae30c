//! Workers for tests: in-process (fast; shares the test's runtime) with test settings.

use std::collections::HashMap;

use herald_worker::{Registry, WorkerConfig};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::db::TestDb;

/// The webhook signing key test workers run with (the Standard Webhooks test vector's).
pub const TEST_SIGNING_KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Settings every test worker starts from: short leases, backoff and grace periods.
pub fn test_env(database_url: &str, worker_id: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("HERALD_WORKER_ID", worker_id),
        ("HERALD_QUEUES", "default=8"),
        ("HERALD_LEASE", "2s"),
        ("HERALD_HEARTBEAT_INTERVAL", "300ms"),
        ("HERALD_RESCUE_INTERVAL", "500ms"),
        ("HERALD_POLL_INTERVAL", "1s"),
        ("HERALD_RETRY_BASE", "100ms"),
        ("HERALD_RETRY_MAX", "1s"),
        ("HERALD_RETRY_JITTER", "0"),
        ("HERALD_SHUTDOWN_GRACE", "2s"),
        ("HERALD_DB_ACQUIRE_TIMEOUT", "1s"),
        ("HERALD_DB_OUTAGE_CRITICAL_AFTER", "60s"),
        ("HERALD_WEBHOOK_SIGNING_KEYS", TEST_SIGNING_KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A worker running inside the test process.
pub struct InProcessWorker {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), herald_worker::runtime::RunError>>,
}

impl InProcessWorker {
    /// Starts a worker on `db` running `test.scripted`, with [`test_env`] plus `overrides`.
    pub async fn start(db: &TestDb, worker_id: &str, overrides: &[(&str, &str)]) -> Self {
        let pool = db.pool.clone();
        Self::start_with_registry(db, worker_id, overrides, |_| crate::jobs::registry(pool)).await
    }

    /// Starts a worker on `db` with [`test_env`] plus `overrides`, running the registry
    /// `registry` builds from the resulting configuration (e.g. Herald's
    /// `default_registry`, or one with a custom job).
    pub async fn start_with_registry(
        db: &TestDb,
        worker_id: &str,
        overrides: &[(&str, &str)],
        registry: impl FnOnce(&WorkerConfig) -> Registry,
    ) -> Self {
        let mut env = test_env(&db.url, worker_id);
        for (k, v) in overrides {
            env.insert((*k).to_owned(), (*v).to_owned());
        }
        let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned())
            .unwrap_or_else(|e| panic!("test worker config: {e}"));
        let registry = registry(&cfg);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(herald_worker::runtime::run_with_pool(
            cfg,
            registry,
            db.pool.clone(),
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Shuts the worker down gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match (&mut self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("worker failed: {e}"),
            Err(e) => panic!("worker task: {e}"),
        }
    }
}
