//! The maintenance leader: one lease row (`herald.maintenance_leader`), taken when free
//! or expired, renewed by every pruning transaction, deleted at clean shutdown.
//!
//! | call | effect | fails when |
//! |---|---|---|
//! | [`lead`] | takes or renews the lease; `true` while this worker leads | the database is unreachable (a lock held past [`LOCK_TIMEOUT`] by the leader's batch is `Ok(false)`) |
//! | [`begin_fenced`] | a transaction that holds the leader row's lock; `None` when the lease is someone else's | the database is unreachable |
//! | [`resign`] | deletes the row if this worker holds it | the database is unreachable |

use std::time::Duration;

use sqlx::{PgPool, Postgres, Transaction};

use crate::stored_time::StoredTime;

/// How long any maintenance statement waits for a lock before giving up.
pub(crate) const LOCK_TIMEOUT: &str = "1s";

/// Who leads, and for how long a lease lasts.
#[derive(Debug, Clone)]
pub(crate) struct Lease {
    /// This worker's id.
    pub(crate) worker_id: String,
    /// The lease's length (`HERALD_LEASE`, the same as a job's): a dead leader is
    /// replaced within it.
    pub(crate) length: Duration,
}

impl Lease {
    fn seconds(&self) -> f64 {
        self.length.as_secs_f64()
    }

    /// The statement timeout of a maintenance transaction: the lease's length, so one
    /// batch never outlives the lease it renewed.
    fn statement_timeout(&self) -> String {
        format!("{}ms", self.length.as_millis().max(1))
    }
}

/// Takes or renews the lease; `true` while `lease.worker_id` leads.
pub(crate) async fn lead(pool: &PgPool, lease: &Lease) -> Result<bool, sqlx::Error> {
    let mut tx = pool.begin().await?;
    limit_locks(&mut tx, lease).await?;
    let led: Result<Option<StoredTime>, _> = sqlx::query_file_scalar!(
        "queries/maintenance/lead.sql",
        lease.worker_id,
        lease.seconds()
    )
    .fetch_optional(&mut *tx)
    .await;
    match led {
        Ok(elected) => {
            tx.commit().await?;
            Ok(elected.is_some())
        }
        // The leader's batch holds the row: it is alive and leads.
        Err(e) if is_lock_timeout(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A transaction in which this worker still leads (the leader row stays locked until it
/// ends), or `None` when another worker holds the lease.
pub(crate) async fn begin_fenced(
    pool: &PgPool,
    lease: &Lease,
) -> Result<Option<Transaction<'static, Postgres>>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    limit_locks(&mut tx, lease).await?;
    let held = sqlx::query_file_scalar!(
        "queries/maintenance/fence.sql",
        lease.worker_id,
        lease.seconds()
    )
    .fetch_optional(&mut *tx)
    .await?;
    if held.is_none() {
        tx.rollback().await?;
        return Ok(None);
    }
    Ok(Some(tx))
}

/// Gives the lease up, so another worker leads at once.
pub(crate) async fn resign(pool: &PgPool, lease: &Lease) -> Result<(), sqlx::Error> {
    sqlx::query_file!("queries/maintenance/resign.sql", lease.worker_id)
        .execute(pool)
        .await
        .map(|_| ())
}

async fn limit_locks(
    tx: &mut Transaction<'static, Postgres>,
    lease: &Lease,
) -> Result<(), sqlx::Error> {
    sqlx::query_file!(
        "queries/maintenance/limit_locks.sql",
        LOCK_TIMEOUT,
        lease.statement_timeout()
    )
    .fetch_one(&mut **tx)
    .await
    .map(|_| ())
}

/// SQLSTATE 55P03 `lock_not_available`: `lock_timeout` expired.
pub(crate) fn is_lock_timeout(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "55P03")
}
