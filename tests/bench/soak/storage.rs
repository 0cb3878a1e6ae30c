//! Herald's storage as PostgreSQL reports it: bytes per table (indexes and TOAST
//! included, partitions summed) and dead tuples; and a process's resident memory.

use serde::Serialize;
use sqlx::PgPool;

use crate::BenchResult;

/// One table of the `herald` schema.
#[derive(Debug, Clone, Serialize)]
pub struct TableSize {
    /// Its name (a partitioned table's, for all its partitions).
    pub table: String,
    /// `pg_total_relation_size`, summed over its partitions.
    pub bytes: i64,
    /// `n_dead_tup`, summed over its partitions.
    pub dead_tuples: i64,
}

/// Every table of the `herald` schema.
#[derive(Debug, Clone, Serialize)]
pub struct Storage(pub Vec<TableSize>);

impl Storage {
    /// Reads it now (statistics lag by up to a second).
    pub async fn read(pool: &PgPool) -> BenchResult<Self> {
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(include_str!("sql/storage.sql"))
            .fetch_all(pool)
            .await?;
        Ok(Self(
            rows.into_iter()
                .map(|(table, bytes, dead_tuples)| TableSize {
                    table,
                    bytes,
                    dead_tuples,
                })
                .collect(),
        ))
    }

    /// All tables' bytes.
    pub fn bytes(&self) -> i64 {
        self.0.iter().map(|t| t.bytes).sum()
    }

    /// All tables' dead tuples.
    pub fn dead_tuples(&self) -> i64 {
        self.0.iter().map(|t| t.dead_tuples).sum()
    }

    /// The bytes of table `name` (0 when it does not exist).
    pub fn table_bytes(&self, name: &str) -> i64 {
        self.0
            .iter()
            .find(|t| t.table == name)
            .map_or(0, |t| t.bytes)
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS` of `/proc/<pid>/status`); `None`
/// when it has exited or the line is missing.
pub fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
