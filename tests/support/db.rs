//! A fresh, migrated database per test.
//!
//! The server is `HERALD_TEST_DATABASE_URL` or `DATABASE_URL` when set (any database
//! on it; tests create their own), else a private PostgreSQL started in
//! `$HERALD_HOME/test` on port 54330. [`TestDb::finish`] asserts the audit invariant
//! (every finished attempt has exactly one audit row) and drops the database.

use std::sync::OnceLock;
use std::time::Duration;

use herald_testkit::private_pg::{PrivatePostgres, default_home};
use sqlx::PgPool;

/// Port of the private test instance.
pub const TEST_PORT: u16 = 54330;

static SERVER: OnceLock<String> = OnceLock::new();

/// The admin URL of the server tests create databases on (starts it when private).
pub fn server_url() -> String {
    SERVER
        .get_or_init(|| {
            let from_env = std::env::var("HERALD_TEST_DATABASE_URL")
                .or_else(|_| std::env::var("DATABASE_URL"))
                .ok()
                .filter(|u| !u.is_empty());
            if let Some(url) = from_env {
                return url;
            }
            let pg = PrivatePostgres::new(default_home().join("test"), TEST_PORT)
                .unwrap_or_else(|e| panic!("private PostgreSQL for tests: {e}"));
            pg.ensure_running()
                .unwrap_or_else(|e| panic!("private PostgreSQL for tests: {e}"));
            pg.url("postgres")
        })
        .clone()
}

/// Replaces the database name in `url`.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let prefix = match base.rfind('/') {
        Some(i) if base[..i].contains("//") && i > base.find("//").map_or(0, |j| j + 1) => {
            &base[..i]
        }
        _ => base,
    };
    match query {
        Some(q) => format!("{prefix}/{database}?{q}"),
        None => format!("{prefix}/{database}"),
    }
}

/// A database created for one test.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// A pool on it.
    pub pool: PgPool,
}

impl TestDb {
    /// Creates and migrates a fresh database, with the test fixtures applied.
    pub async fn new() -> Self {
        Self::on_server(&server_url()).await
    }

    /// Like [`TestDb::new`] on a given server (admin URL).
    pub async fn on_server(server: &str) -> Self {
        let name = format!("herald_test_{:016x}", rand::random::<u64>());
        let admin = PgPool::connect(server)
            .await
            .unwrap_or_else(|e| panic!("connect {server}: {e}"));
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
        admin.close().await;
        let url = with_database(server, &name);
        let pool = herald_worker::db::connect(&url, 8, Duration::from_secs(10))
            .await
            .unwrap_or_else(|e| panic!("connect test database: {e}"));
        herald_worker::db::migrate(&pool)
            .await
            .unwrap_or_else(|e| panic!("migrate: {e}"));
        sqlx::raw_sql(include_str!("../fixtures/effects.sql"))
            .execute(&pool)
            .await
            .unwrap_or_else(|e| panic!("fixtures: {e}"));
        Self { name, url, pool }
    }

    /// Asserts the audit invariant, then drops the database.
    pub async fn finish(self) {
        assert_every_attempt_audited_once(&self.pool).await;
        self.pool.close().await;
        let server = with_database(&self.url, "postgres");
        if let Ok(admin) = PgPool::connect(&server).await {
            let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            )))
            .execute(&admin)
            .await;
            admin.close().await;
        }
    }
}

/// Every job that is not running has exactly one audit row for each attempt it made,
/// numbered 1..=attempt, and no audit row exists for a job's unmade attempt.
pub async fn assert_every_attempt_audited_once(pool: &PgPool) {
    let broken: Vec<(i64, i32, i64)> = sqlx::query_as(
        "SELECT j.id, j.attempt, count(a.id)
         FROM herald.jobs j LEFT JOIN herald.attempts a ON a.job_id = j.id
         WHERE j.state <> 'running'
         GROUP BY j.id, j.attempt
         HAVING count(a.id) <> j.attempt
             OR count(a.id) <> count(DISTINCT a.attempt)
             OR coalesce(max(a.attempt), 0) <> j.attempt",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("audit check: {e}"));
    assert!(
        broken.is_empty(),
        "jobs whose attempts are not audited exactly once (id, attempts, rows): {broken:?}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            with_database("postgres://u@h:1/postgres", "x"),
            "postgres://u@h:1/x"
        );
        assert_eq!(
            with_database("postgres://u@h:1/db?sslmode=disable", "x"),
            "postgres://u@h:1/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h:1", "x"), "postgres://u@h:1/x");
    }
}
