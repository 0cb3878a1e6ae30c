//! The per-schedule loop: sleep until the next tick, then enqueue it unless another
//! worker already did (see [`crate::cron`]). A worker that falls behind (a slow insert,
//! a short database outage) catches up on ticks up to a minute old; older ones, and ticks
//! from before the worker started, are skipped.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::CronSchedule;
use crate::config::WorkerConfig;
use crate::db::DbHealth;
use crate::error::RunError;
use crate::registry::Registry;

/// A schedule with its job type's defaults resolved.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedSchedule {
    pub(crate) schedule: CronSchedule,
    pub(crate) queue: String,
    pub(crate) max_attempts: i32,
}

/// Checks every cron schedule against `registry` and fills in its type's defaults.
pub(crate) fn resolve(
    cfg: &WorkerConfig,
    registry: &Registry,
) -> Result<Vec<ResolvedSchedule>, RunError> {
    cfg.cron
        .iter()
        .map(|s| {
            let fail = |message: String| RunError::Cron {
                schedule: s.name.clone(),
                message,
            };
            let (queue, max_attempts) = registry.defaults(&s.job_type).ok_or_else(|| {
                fail(format!(
                    "job type {:?} is not registered with this worker (registered: {})",
                    crate::sanitize::sanitize(&s.job_type),
                    registry.kinds().join(", ")
                ))
            })?;
            if let Some(Err(e)) = registry.validate(&s.job_type, &s.payload) {
                return Err(fail(format!(
                    "payload rejected: {}",
                    crate::sanitize::sanitize(&e.to_string())
                )));
            }
            let size = s.payload.to_string().len();
            if size > cfg.max_payload_bytes {
                return Err(fail(format!(
                    "payload is {size} bytes, over the limit of {} bytes",
                    cfg.max_payload_bytes
                )));
            }
            let max_attempts = s.max_attempts.unwrap_or(max_attempts);
            let queue = s.queue.clone().unwrap_or_else(|| queue.to_owned());
            // The type's defaults go through the same enqueue rules as the entry's own.
            herald_jobs::rules::check_queue(&queue)
                .and_then(|()| herald_jobs::rules::check_max_attempts(max_attempts))
                .map_err(|v| fail(crate::sanitize::sanitize(&v.to_string())))?;
            Ok(ResolvedSchedule {
                schedule: s.clone(),
                queue,
                max_attempts: i32::try_from(max_attempts).unwrap_or(i32::MAX),
            })
        })
        .collect()
}

/// How long to wait before trying a tick again after a database error.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// A tick this worker was too late for (busy, or the database was away) is still
/// enqueued when it is at most this old; older ones are skipped.
const CATCH_UP: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Enqueues `entry`'s ticks until `stop` turns true.
pub(crate) async fn run(
    pool: PgPool,
    entry: ResolvedSchedule,
    health: Arc<DbHealth>,
    mut stop: watch::Receiver<bool>,
) {
    let mut after = Utc::now();
    loop {
        let Some(tick) = entry.schedule.schedule.after(&after).next() else {
            info!(cron.schedule = %entry.schedule.name, "cron schedule has no further ticks");
            return;
        };
        if !sleep_until(tick, &mut stop).await {
            return;
        }
        loop {
            match enqueue_tick(&pool, &entry, tick).await {
                Ok(()) => {
                    health.ok();
                    break;
                }
                Err(e) => {
                    health.failed("cron", &e);
                    let next_due = entry.schedule.schedule.after(&tick).next();
                    if next_due.is_none_or(|n| Utc::now() + RETRY_EVERY >= n) {
                        warn!(
                            cron.schedule = %entry.schedule.name,
                            cron.tick = %tick,
                            "cron tick not enqueued by this worker: database unavailable until the next tick"
                        );
                        break;
                    }
                    if !sleep_for(RETRY_EVERY, &mut stop).await {
                        return;
                    }
                }
            }
        }
        after = tick.max(Utc::now() - CATCH_UP);
    }
}

async fn enqueue_tick(
    pool: &PgPool,
    entry: &ResolvedSchedule,
    tick: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let s = &entry.schedule;
    let id: Option<i64> = sqlx::query_file_scalar!(
        "queries/cron/enqueue_tick.sql",
        &s.name,
        tick,
        &s.job_type,
        &entry.queue,
        &s.payload,
        s.priority,
        entry.max_attempts
    )
    .fetch_optional(pool)
    .await?;
    match id {
        Some(id) => info!(
            cron.schedule = %s.name,
            cron.tick = %tick,
            job.id = id,
            job.type = %s.job_type,
            "cron tick enqueued"
        ),
        None => debug!(
            cron.schedule = %s.name,
            cron.tick = %tick,
            "cron tick already enqueued by another worker"
        ),
    }
    sqlx::query_file!("queries/cron/prune_ticks.sql", &s.name, tick)
        .execute(pool)
        .await?;
    Ok(())
}

/// Sleeps until `at`; `false` when `stop` turned true first.
async fn sleep_until(at: DateTime<Utc>, stop: &mut watch::Receiver<bool>) -> bool {
    let wait = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    sleep_for(wait, stop).await
}

async fn sleep_for(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return false;
    }
    tokio::select! {
        _ = stop.changed() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}
