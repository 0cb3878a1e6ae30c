//! Storage health you can see: how big each Herald table is, how many dead rows wait for
//! VACUUM and how long ago it last ran, what holds the transaction horizon back, whether
//! the audit partitions are created ahead, and what the last pruning run removed.
//!
//! [`sample`] reads it all (catalogs and statistics views only, no table scan) through
//! the files of `worker/queries/storage/`; every worker runs [`run`] while it serves
//! `/metrics`, every `HERALD_STORAGE_METRICS_INTERVAL`, and `herald stats` prints the same
//! sample. Every worker exports the same figures, so they survive a change of maintenance
//! leader: aggregate them with `max by (table)`, never `sum`.
//!
//! | metric | labels | what it measures |
//! |---|---|---|
//! | `herald_table_size_bytes` | `table` | `pg_table_size`: heap + TOAST (+ free-space and visibility maps); a partitioned table is summed over its partitions |
//! | `herald_index_size_bytes` | `table` | `pg_indexes_size`: all its indexes (of all its partitions) |
//! | `herald_table_live_tuples` / `herald_table_dead_tuples` | `table` | `n_live_tup` / `n_dead_tup` of `pg_stat_user_tables` (estimates; statistics are flushed at most once a second per backend) |
//! | `herald_table_last_vacuum_age_seconds` | `table` | seconds since the later of `last_vacuum` / `last_autovacuum` (of any partition); **absent** while none is recorded since the statistics were reset (a new or never-changed table) |
//! | `herald_oldest_xact_age_seconds` | — | seconds since the oldest transaction of this database that holds the xmin horizon started: a backend with a transaction id or snapshot (`pg_stat_activity.backend_xid` / `backend_xmin`), or a prepared transaction; 0 when none. Other roles' sessions count only when the worker's role is in `pg_read_all_stats` (`pg_monitor`) |
//! | `herald_xmin_horizon_age_xids` | — | `age()` in transaction ids of the oldest xmin held by those backends, prepared transactions, and replication slots (`xmin`, `catalog_xmin`) of this database or physical; 0 when none |
//! | `herald_audit_partitions` | `state` = `present`, `ahead` | children of `herald.attempts` (`pg_inherits`, the default partition included), and those whose lower bound is above the job id sequence's current value; both 0 while it is not partitioned |
//! | `herald_maintenance_last_run_rows` | `table` (`jobs`, `attempts`, `operator_actions`, `maintenance_runs`) | rows the newest completed pruning run removed (`herald.maintenance_runs`); absent before the first |
//!
//! | situation | behaviour |
//! |---|---|
//! | a sample fails | the gauges keep their last values; one WARN per streak of failures (sanitised), DEBUG for the rest, INFO when sampling works again; never stops the worker, never reports the database's health (the queue's tasks do) |
//! | a table disappears | its series disappear with the next sample |

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::metrics::Metrics;
use crate::sanitize::sanitize;
use crate::stored_time::StoredTime;

/// One table of schema `herald` (a partitioned one summed over its partitions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableStorage {
    /// The table's name, without the schema.
    pub table: String,
    /// Whether it is partitioned.
    pub partitioned: bool,
    /// Its leaf partitions (0 when not partitioned).
    pub partitions: i64,
    /// Heap + TOAST bytes (`pg_table_size`).
    pub size_bytes: i64,
    /// Bytes of all its indexes (`pg_indexes_size`).
    pub index_size_bytes: i64,
    /// Estimated live rows.
    pub live_tuples: i64,
    /// Estimated dead rows awaiting VACUUM.
    pub dead_tuples: i64,
    /// Seconds since its latest vacuum or autovacuum; `None` when none is recorded.
    pub last_vacuum_age_secs: Option<f64>,
}

/// What holds this database's transaction horizon back (see the module table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Horizon {
    /// Seconds since the oldest horizon-holding transaction started (0: none).
    pub oldest_xact_age_secs: f64,
    /// Age in transaction ids of the oldest xmin held (0: none).
    pub xmin_age_xids: i64,
}

/// The partitions of `herald.attempts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuditPartitions {
    /// Children of `herald.attempts` (0 while it is a plain table).
    pub present: i64,
    /// Of which start above the job id sequence's current value.
    pub ahead: i64,
}

/// The newest completed pruning run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LastPruning {
    /// When it finished.
    pub finished_at: StoredTime,
    /// Seconds since then.
    pub age_secs: Option<f64>,
    /// Jobs it removed (every class).
    pub jobs: i64,
    /// Audit rows it removed.
    pub attempts: i64,
    /// Operator actions it removed.
    pub operator_actions: i64,
    /// Run records it removed.
    pub maintenance_runs: i64,
}

/// One reading of Herald's storage health.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StorageSample {
    /// Every table of schema `herald`, by name.
    pub tables: Vec<TableStorage>,
    /// The transaction horizon.
    pub horizon: Horizon,
    /// The audit partitions.
    pub audit_partitions: AuditPartitions,
    /// The newest completed pruning run, if any.
    pub last_pruning: Option<LastPruning>,
}

/// Reads the storage health (four catalog and statistics queries; no table scan).
pub async fn sample(pool: &PgPool) -> Result<StorageSample, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let tables = sqlx::query_file!("queries/storage/tables.sql")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| TableStorage {
            table: r.table,
            partitioned: r.partitioned,
            partitions: r.partitions,
            size_bytes: r.size_bytes,
            index_size_bytes: r.index_size_bytes,
            live_tuples: r.live,
            dead_tuples: r.dead,
            last_vacuum_age_secs: r.vacuum_age_secs,
        })
        .collect();
    let h = sqlx::query_file!("queries/storage/horizon.sql")
        .fetch_one(&mut *conn)
        .await?;
    let p = sqlx::query_file!("queries/storage/audit_partitions.sql")
        .fetch_one(&mut *conn)
        .await?;
    let last_pruning = sqlx::query_file!("queries/storage/last_pruning.sql")
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| LastPruning {
            finished_at: r.finished_at,
            age_secs: r.age_secs,
            jobs: r.jobs,
            attempts: r.attempts,
            operator_actions: r.operator_actions,
            maintenance_runs: r.maintenance_runs,
        });
    Ok(StorageSample {
        tables,
        horizon: Horizon {
            oldest_xact_age_secs: h.oldest_xact_age_secs,
            xmin_age_xids: h.xmin_horizon_age_xids,
        },
        audit_partitions: AuditPartitions {
            present: p.present,
            ahead: p.ahead,
        },
        last_pruning,
    })
}

/// Samples every `interval` and sets the storage gauges, until `stop` turns true.
pub(crate) async fn run(
    pool: PgPool,
    interval: Duration,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    let mut failing = false;
    loop {
        match sample(&pool).await {
            Ok(s) => {
                export(&metrics, &s);
                if failing {
                    info!("storage metrics sampled again");
                    failing = false;
                }
            }
            Err(e) if !failing => {
                failing = true;
                warn!(
                    db.operation = "storage metrics",
                    error.message = %sanitize(&e.to_string()),
                    "cannot sample the storage metrics; they keep their last values, trying again every interval"
                );
            }
            Err(e) => {
                debug!(db.operation = "storage metrics", error.message = %sanitize(&e.to_string()), "storage metrics still unavailable");
            }
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Sets the gauges from `s`: series of tables no longer present are dropped.
fn export(metrics: &Metrics, s: &StorageSample) {
    let g = &metrics.storage;
    for vec in [&g.table_size, &g.index_size, &g.live, &g.dead] {
        vec.reset();
    }
    g.vacuum_age.reset();
    for t in &s.tables {
        let label = [t.table.as_str()];
        g.table_size.with_label_values(&label).set(t.size_bytes);
        g.index_size
            .with_label_values(&label)
            .set(t.index_size_bytes);
        g.live.with_label_values(&label).set(t.live_tuples);
        g.dead.with_label_values(&label).set(t.dead_tuples);
        if let Some(age) = t.last_vacuum_age_secs {
            g.vacuum_age.with_label_values(&label).set(age);
        }
    }
    g.oldest_xact_age.set(s.horizon.oldest_xact_age_secs);
    g.xmin_age.set(s.horizon.xmin_age_xids);
    g.audit_partitions
        .with_label_values(&["present"])
        .set(s.audit_partitions.present);
    g.audit_partitions
        .with_label_values(&["ahead"])
        .set(s.audit_partitions.ahead);
    if let Some(p) = &s.last_pruning {
        for (table, rows) in [
            ("jobs", p.jobs),
            ("attempts", p.attempts),
            ("operator_actions", p.operator_actions),
            ("maintenance_runs", p.maintenance_runs),
        ] {
            g.last_run_rows.with_label_values(&[table]).set(rows);
        }
    }
}
