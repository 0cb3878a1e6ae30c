//! Upkeep every console process does while it serves: expired sessions are deleted
//! every [`SESSION_SWEEP`] (a login deletes them too, but a console nobody logs in to
//! would keep them). The authentication audit (`herald.console_events`) is pruned by the
//! workers' maintenance leader instead (retention class `console_events`).

use std::time::Duration;

use sqlx::PgPool;

/// How often expired sessions are deleted.
pub const SESSION_SWEEP: Duration = Duration::from_secs(300);

/// Deletes the expired sessions; returns how many.
pub async fn sweep_sessions(pool: &PgPool) -> Result<u64, sqlx::Error> {
    let done = sqlx::query_file!("queries/console/delete_expired_sessions.sql")
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// Sweeps every `interval` until `stop` completes. A failed sweep is logged at WARN and
/// tried again at the next tick (the sessions stay expired meanwhile: none is accepted).
pub async fn run(pool: PgPool, interval: Duration, stop: impl Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        match sweep_sessions(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(sessions.deleted = n, "expired console sessions deleted"),
            Err(e) => tracing::warn!(
                error.message = %herald_worker::sanitize::sanitize(&e.to_string()),
                "could not delete expired console sessions; tried again later"
            ),
        }
    }
}
