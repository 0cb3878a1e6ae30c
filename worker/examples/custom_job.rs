//! A job type of your own, run by Herald's worker beside the built-in `notify.webhook`.
//!
//! ```sh
//! export DATABASE_URL=postgres://postgres@127.0.0.1:54329/herald_demo   # e.g. the demo's
//! export HERALD_WEBHOOK_SIGNING_KEYS=whsec_aGVyYWxkLWRlbW8tc2lnbmluZy1rZXkh  # notify.webhook needs one
//! cargo run --example custom_job
//! ```
//!
//! It enqueues two `shop.receipt` jobs (one for a missing order, which dies with
//! `NOT_FOUND`), runs the worker until Ctrl-C, and every attempt lands in
//! `herald.attempts` like any other job's.

use std::process::ExitCode;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::{AttemptInfo, Job, JobError};
use herald_worker::{WorkerConfig, config, runtime, telemetry};
use serde::{Deserialize, Serialize};

/// Renders and stores a receipt for one order.
#[derive(Debug, Serialize, Deserialize)]
struct ReceiptJob {
    order_id: u64,
}

/// What every receipt attempt needs: here, just the shop's name.
#[derive(Debug, Clone)]
struct Shop {
    name: String,
}

impl Job for ReceiptJob {
    // Stable: never derived from the Rust type name.
    const KIND: &'static str = "shop.receipt";
    const MAX_ATTEMPTS: u32 = 3;
    type Context = Shop;

    fn validate(&self) -> Result<(), JobError> {
        if self.order_id > 1_000_000_000 {
            return Err(JobError::validation("order_id", "out of range"));
        }
        Ok(())
    }

    async fn perform(self, shop: Shop, attempt: AttemptInfo) -> Result<(), JobError> {
        if self.order_id == 0 {
            return Err(JobError::not_found(format!("order {}", self.order_id)));
        }
        tracing::info!(order.id = self.order_id, shop = %shop.name, job.attempt = attempt.attempt, "receipt rendered");
        Ok(())
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = telemetry::init_logging(config::LogFormat::Text, "info");
    let cfg = match WorkerConfig::from_env() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("custom_job: {e}");
            return ExitCode::from(2);
        }
    };
    let registry = match runtime::default_registry(&cfg) {
        Ok(r) => r.register::<ReceiptJob>(Shop {
            name: "Example Shop".into(),
        }),
        Err(e) => {
            eprintln!("custom_job: {e}");
            return ExitCode::FAILURE;
        }
    };
    let pool = match herald_worker::db::connect(&cfg.database_url, 2, cfg.acquire_timeout).await {
        Ok(pool) => pool,
        Err(e) => {
            eprintln!("custom_job: cannot connect: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = herald_worker::db::migrate(&pool).await {
        eprintln!("custom_job: {e}");
        return ExitCode::FAILURE;
    }
    for order_id in [42, 0] {
        let job = NewJob::new(&ReceiptJob { order_id });
        match job {
            Ok(job) => match enqueue(&pool, job).await {
                Ok(done) => tracing::info!(job.id = done.id, order.id = order_id, "enqueued"),
                Err(e) => eprintln!("custom_job: {e}"),
            },
            Err(e) => eprintln!("custom_job: {e}"),
        }
    }
    match runtime::run_with_pool(cfg, registry, pool, runtime::shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custom_job: {e}");
            ExitCode::FAILURE
        }
    }
}
