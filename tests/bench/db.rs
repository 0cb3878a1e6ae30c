//! A fresh database per scenario, and the worker child processes.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use herald_tests::db::with_database;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::{BenchResult, ROLE_VAR};

/// Which schemas a scenario's database gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// Herald's migrations.
    Herald,
    /// apalis-postgres 1.0's migrations (`PostgresStorage::setup`, which needs hstore).
    Apalis,
}

/// A database created for one scenario; dropped by [`BenchDb::drop_now`].
pub struct BenchDb {
    server: String,
    name: String,
    /// Its URL.
    pub url: String,
    /// A pool on it for the benchmark driver (enqueueing, counting).
    pub pool: PgPool,
}

impl BenchDb {
    /// Creates database `herald_bench_<random>` on `server` with `schema`.
    pub async fn create(server: &str, schema: Schema) -> BenchResult<Self> {
        let name = format!("herald_bench_{:012x}", rand::random::<u64>() >> 16);
        let admin = PgPool::connect(server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        let url = with_database(server, &name);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect(&url)
            .await?;
        match schema {
            Schema::Herald => herald_worker::db::migrate(&pool).await?,
            Schema::Apalis => {
                sqlx::raw_sql("CREATE EXTENSION IF NOT EXISTS hstore")
                    .execute(&pool)
                    .await?;
                apalis_postgres::PostgresStorage::setup(&pool).await?;
            }
        }
        Ok(Self {
            server: server.to_owned(),
            name,
            url,
            pool,
        })
    }

    /// Drops the database.
    pub async fn drop_now(self) -> BenchResult<()> {
        self.pool.close().await;
        let admin = PgPool::connect(&self.server).await?;
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        Ok(())
    }
}

/// Worker child processes of one scenario.
pub struct Workers(Vec<Child>);

impl Workers {
    /// Starts `count` copies of this executable in `role`, each with `env` plus
    /// `HERALD_BENCH_INDEX` (0-based).
    pub fn spawn(role: &str, count: usize, env: &[(&str, String)]) -> BenchResult<Self> {
        let exe = std::env::current_exe()?;
        let mut children = Vec::with_capacity(count);
        for index in 0..count {
            let child = Command::new(&exe)
                .env(ROLE_VAR, role)
                .env("HERALD_BENCH_INDEX", index.to_string())
                .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()?;
            children.push(child);
        }
        Ok(Self(children))
    }

    /// Their process ids, in start order (the soak bench reads their memory).
    #[allow(dead_code, reason = "used by the soak bench, not by throughput")]
    pub fn pids(&self) -> Vec<u32> {
        self.0.iter().map(Child::id).collect()
    }

    /// SIGTERM, then SIGKILL whatever has not exited after `grace`.
    pub fn stop(mut self, grace: Duration) {
        for child in &self.0 {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + grace;
        for child in &mut self.0 {
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Polls `count_sql` (a single count) every 50 ms until it returns 0 or `timeout`
/// passes; returns whether it reached 0.
pub async fn wait_until_zero(
    pool: &PgPool,
    count_sql: &'static str,
    timeout: Duration,
) -> BenchResult<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        let left: i64 = sqlx::query_scalar(count_sql).fetch_one(pool).await?;
        if left == 0 {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
