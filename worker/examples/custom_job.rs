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
//!
//! Its tests (the `tests` module below, shown in the README's "Testing your jobs") run
//! with `cargo test` (`cargo test -p herald-worker --example custom_job`): the handler
//! inline with `herald_testkit::perform`, and enqueued jobs drained in-process.

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

// The README's "Testing your jobs" shows this module as it is; a test checks they agree.
#[cfg(test)]
mod tests {
    use herald_jobs::ErrorCode;
    use herald_jobs::enqueue::{NewJob, enqueue};
    use herald_testkit::{AttemptOutcome, DrainOptions, JobFilter, Performed, TestDatabase};
    use herald_testkit::{assert_enqueued, drain, perform, refute_enqueued};
    use herald_worker::Registry;
    use serde_json::json;

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn shop() -> Shop {
        Shop {
            name: "Test Shop".into(),
        }
    }

    /// No queue, no database: the handler runs inline and the worker classifies it.
    #[tokio::test]
    async fn a_receipt_for_a_missing_order_is_dead_with_not_found() -> TestResult {
        let verdict = perform(&ReceiptJob { order_id: 0 }, shop()).await?;
        assert!(matches!(
            verdict,
            Performed::Dead {
                code: ErrorCode::NotFound,
                ..
            }
        ));
        assert_eq!(
            perform(&ReceiptJob { order_id: 42 }, shop()).await?,
            Performed::Succeeded
        );
        Ok(())
    }

    /// A fresh database (DATABASE_URL, else a private PostgreSQL); enqueue as the
    /// application does, then run the queue in-process until nothing is due.
    #[tokio::test]
    async fn enqueued_receipts_run_until_the_queue_is_empty() -> TestResult {
        let db = TestDatabase::new().await?;
        for order_id in [42, 0] {
            enqueue(db.pool(), NewJob::new(&ReceiptJob { order_id })?).await?;
        }
        let order_42 = JobFilter::of::<ReceiptJob>().payload(json!({ "order_id": 42 }));
        assert_enqueued(db.pool(), &order_42).await;

        let registry = Registry::new().register::<ReceiptJob>(shop());
        let drained = drain(db.pool(), &registry, DrainOptions::default()).await?;
        assert_eq!(drained.count(AttemptOutcome::Succeeded), 1);
        assert_eq!(drained.count(AttemptOutcome::Dead), 1);
        refute_enqueued(db.pool(), &JobFilter::of::<ReceiptJob>()).await;
        db.close().await?;
        Ok(())
    }
}
