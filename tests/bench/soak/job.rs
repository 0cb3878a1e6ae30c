//! The soak's job (`soak.order`: a short job with an order-shaped payload, some failing
//! once or for good) and the worker role that runs it.

use std::collections::HashMap;

use herald_jobs::{AttemptInfo, Job, JobError};
use herald_worker::{Registry, WorkerConfig, runtime};
use serde::{Deserialize, Serialize};

use crate::BenchResult;

/// The role name of a soak worker child.
pub const ROLE: &str = "soak-worker";

/// How a job ends, chosen by the producer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Plan {
    /// Succeeds at once.
    #[default]
    Succeed,
    /// Fails its first attempt with a retryable error, succeeds on the retry.
    FailOnce,
    /// Fails terminally (the job goes dead).
    Dead,
}

/// One line of an order.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Line {
    /// Stock keeping unit.
    pub sku: String,
    /// Quantity.
    pub qty: u32,
}

/// `soak.order`: what a service's "confirm this order" job might carry. Every field
/// defaults, so the empty payload `{}` (bytes per job's baseline) runs too.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Order {
    /// The order's id.
    pub order_id: String,
    /// The customer's id.
    pub customer_id: String,
    /// Where the confirmation goes.
    pub email: String,
    /// Total, in cents.
    pub amount_cents: u64,
    /// ISO currency.
    pub currency: String,
    /// What was ordered.
    pub lines: Vec<Line>,
    /// Padding to the requested payload length.
    pub note: String,
    /// How the job ends.
    pub plan: Plan,
}

impl Job for Order {
    const KIND: &'static str = "soak.order";
    type Context = ();

    async fn perform(self, _: (), info: AttemptInfo) -> Result<(), JobError> {
        match self.plan {
            Plan::Succeed => Ok(()),
            Plan::FailOnce if info.attempt > 1 => Ok(()),
            Plan::FailOnce => Err(JobError::upstream(
                "payment service returned 503 (planned by the soak bench)",
                None,
            )),
            Plan::Dead => Err(JobError::validation(
                "order_id",
                "unknown order (planned by the soak bench)",
            )),
        }
    }
}

impl Order {
    /// Order number `n` with `plan`, its serialised payload padded to `bytes` (when the
    /// fields alone are shorter).
    pub fn numbered(n: u64, plan: Plan, bytes: usize) -> BenchResult<Self> {
        let mut order = Self {
            order_id: format!("ord_{n:012}"),
            customer_id: format!("cus_{:08x}", n.wrapping_mul(2_654_435_761) >> 8),
            email: format!("customer{}@example.com", n % 100_000),
            amount_cents: 1_000 + n % 90_000,
            currency: "EUR".into(),
            lines: vec![
                Line {
                    sku: format!("SKU-{:05}", n % 99_991),
                    qty: 1 + (n % 3) as u32,
                },
                Line {
                    sku: format!("SKU-{:05}", n % 7_919),
                    qty: 1,
                },
            ],
            note: String::new(),
            plan,
        };
        let len = serde_json::to_string(&order)?.len();
        order.note = "x".repeat(bytes.saturating_sub(len));
        Ok(order)
    }
}

/// Whether `name` is a setting the parent passes through to its workers.
fn passed_through(name: &str) -> bool {
    name.starts_with("HERALD_RETENTION_") || name.starts_with("HERALD_MAINTENANCE_")
}

/// The child role: Herald's runtime with `soak.order` registered, until SIGTERM.
/// Configuration: the database (`BENCH_DATABASE_URL`), a worker id, and the parent's
/// `HERALD_RETENTION_*` / `HERALD_MAINTENANCE_*`; everything else is Herald's default.
pub async fn worker_role() -> BenchResult<()> {
    let mut env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| passed_through(k))
        .collect();
    let url = std::env::var("BENCH_DATABASE_URL").map_err(|_| "BENCH_DATABASE_URL unset")?;
    env.insert("DATABASE_URL".into(), url);
    let index = std::env::var("HERALD_BENCH_INDEX").unwrap_or_default();
    env.insert(
        "HERALD_WORKER_ID".into(),
        format!("soak-{index}-{}", std::process::id()),
    );
    let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned())?;
    let pool =
        herald_worker::db::connect(&cfg.database_url, cfg.pool_size, cfg.acquire_timeout).await?;
    let registry = Registry::new().register::<Order>(());
    runtime::run_with_pool(cfg, registry, pool, runtime::shutdown_signal()).await?;
    Ok(())
}
