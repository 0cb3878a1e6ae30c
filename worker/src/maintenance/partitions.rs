//! Creating `herald.attempts` partitions ahead of the jobs id sequence.
//!
//! | what | guarantee |
//! |---|---|
//! | which | from the partition holding the jobs id sequence's next value through `HERALD_AUDIT_PARTITIONS_AHEAD` more, each `HERALD_AUDIT_PARTITION_JOBS` job ids, chained from the highest existing upper bound (a partition size changed later applies from the next partition on) |
//! | catching up | when the sequence has passed the highest partition (e.g. a small size on a busy queue), one partition spans the gap up to the chunk holding the next value, so a run creates at most `ahead + 2` |
//! | the DEFAULT partition | rows already there for a range being created are moved into it in the same transaction (`herald.create_attempt_partition`): nothing is lost, (job_id, attempt) stays unique |
//! | locks | one fenced transaction per partition (milliseconds), `lock_timeout` 1 s; the parent alone SHARE ROW EXCLUSIVE (audit inserts wait for it: ATTACH's own SHARE UPDATE EXCLUSIVE would let an insert already routing with the old partition list fail the DEFAULT partition's new constraint; seen as `abandoned` attempts under load before this lock), the DEFAULT partition ACCESS EXCLUSIVE; claims, enqueues and reads go on; a timeout is retried at the next run |

use sqlx::PgPool;
use tracing::info;

use super::leader::{self, Lease};
use crate::config::RetentionConfig;

/// The next partition to create, `[lower, upper)`, or `None` when enough exist:
/// `top` is the highest range partition's upper bound (`None`: there is none),
/// `next_id` the jobs id sequence's next value, `ahead_existing` how many range
/// partitions lie wholly above `next_id`.
pub(crate) fn next_range(
    top: Option<i64>,
    next_id: i64,
    size: i64,
    ahead: i64,
    ahead_existing: i64,
) -> Option<(i64, i64)> {
    let size = size.max(1);
    let top = top.unwrap_or(next_id);
    if top <= next_id {
        let holding = top.saturating_add((next_id - top) / size * size);
        if holding > top {
            return Some((top, holding));
        }
        return Some((top, top.saturating_add(size)));
    }
    (ahead_existing < ahead).then_some((top, top.saturating_add(size)))
}

/// Creates the partitions missing ahead of the jobs id sequence, one fenced transaction
/// each; returns how many it created. Stops quietly when this worker no longer leads.
pub(crate) async fn ensure(
    pool: &PgPool,
    lease: &Lease,
    config: &RetentionConfig,
) -> Result<u32, sqlx::Error> {
    let size = i64::from(config.audit_partition_jobs);
    let ahead = i64::from(config.audit_partitions_ahead);
    let mut created = 0;
    // At most one catching-up partition, the one holding the next id, and `ahead` more.
    for _ in 0..ahead + 2 {
        let Some(mut tx) = leader::begin_fenced(pool, lease).await? else {
            break;
        };
        let plan = sqlx::query_file!("queries/maintenance/partition_plan.sql")
            .fetch_one(&mut *tx)
            .await?;
        let Some((lower, upper)) = next_range(plan.top, plan.next_job_id, size, ahead, plan.ahead)
        else {
            tx.rollback().await?;
            break;
        };
        let moved =
            sqlx::query_file_scalar!("queries/maintenance/create_partition.sql", lower, upper)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        created += 1;
        info!(
            audit.partition = %format!("herald.attempts_p{lower}"),
            job_ids.from = lower,
            job_ids.to = upper,
            rows_moved_from_default = moved,
            "audit partition created"
        );
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_chain_from_the_top_through_the_one_holding_the_next_id_and_ahead() {
        // The next id is in no partition yet: the one holding it first.
        assert_eq!(next_range(Some(101), 101, 10, 2, 0), Some((101, 111)));
        // Then `ahead` more above it.
        assert_eq!(next_range(Some(111), 101, 10, 2, 0), Some((111, 121)));
        assert_eq!(next_range(Some(121), 101, 10, 2, 1), Some((121, 131)));
        assert_eq!(next_range(Some(131), 101, 10, 2, 2), None);
        // Far behind: one partition spans the gap to the chunk holding the next id.
        assert_eq!(next_range(Some(1), 3001, 100, 2, 0), Some((1, 3001)));
        assert_eq!(next_range(Some(1), 3050, 100, 2, 0), Some((1, 3001)));
        assert_eq!(next_range(Some(3001), 3050, 100, 2, 0), Some((3001, 3101)));
        // No range partition at all: start at the next id.
        assert_eq!(next_range(None, 7, 10, 0, 0), Some((7, 17)));
        assert_eq!(next_range(Some(17), 7, 10, 0, 0), None);
    }
}
