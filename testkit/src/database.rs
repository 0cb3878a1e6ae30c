//! A fresh, migrated database per test.
//!
//! | setting | default | meaning |
//! |---|---|---|
//! | `HERALD_TEST_DATABASE_URL` | unset | the server tests create their databases on (any database of it; its user needs `CREATEDB`) |
//! | `DATABASE_URL` | unset | the same, when `HERALD_TEST_DATABASE_URL` is unset |
//! | neither set | – | a private PostgreSQL ([`crate::private_pg`]) in `$HERALD_HOME/test` on port [`PRIVATE_PORT`], started once and left running for the next run |
//!
//! Every [`TestDatabase`] is a database of its own (`herald_test_<random>`) with
//! Herald's migrations applied, so tests run in parallel without seeing each other's
//! jobs. [`TestDatabase::close`] drops it; a `TestDatabase` dropped without `close` (a
//! test that panicked) is dropped in the background, best effort.

use std::sync::OnceLock;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::private_pg::{PrivatePostgres, default_home};

/// Port of the private test instance.
pub const PRIVATE_PORT: u16 = 54330;

/// Connections in each test database's pool.
const POOL_SIZE: u32 = 8;

/// How long connecting to, creating or dropping a test database may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a test database could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TestDatabaseError {
    /// The private PostgreSQL could not be started (the message of its
    /// [`PrivatePgError`](crate::private_pg::PrivatePgError), kept for every later caller).
    #[error("cannot start the private PostgreSQL for tests: {0}")]
    PrivatePostgres(String),
    /// The server refused a connection or a statement.
    #[error("test database on {server}: {source}")]
    Database {
        /// The server's URL (as given, credentials included: a test server's).
        server: String,
        /// The database's error.
        #[source]
        source: sqlx::Error,
    },
    /// Herald's migrations failed.
    #[error("cannot migrate the test database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

static SERVER: OnceLock<Result<String, String>> = OnceLock::new();

/// The URL of the server test databases are created on: `HERALD_TEST_DATABASE_URL`,
/// else `DATABASE_URL`, else the private instance (started on first use, once per
/// process; a failure to start it is returned to every caller).
pub fn server_url() -> Result<String, TestDatabaseError> {
    let server = SERVER.get_or_init(|| {
        let from_env = ["HERALD_TEST_DATABASE_URL", "DATABASE_URL"]
            .into_iter()
            .find_map(|k| std::env::var(k).ok().filter(|u| !u.is_empty()));
        match from_env {
            Some(url) => Ok(url),
            None => start_private().map_err(|e| e.to_string()),
        }
    });
    server.clone().map_err(TestDatabaseError::PrivatePostgres)
}

fn start_private() -> Result<String, crate::private_pg::PrivatePgError> {
    let pg = PrivatePostgres::new(default_home().join("test"), PRIVATE_PORT)?;
    pg.ensure_running()?;
    Ok(pg.url("postgres"))
}

/// `url` with its database name replaced by `database` (query string kept).
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

/// A database created for one test, with Herald's migrations applied.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    pool: PgPool,
    /// `false` once [`TestDatabase::close`] has dropped it.
    owned: bool,
}

impl TestDatabase {
    /// Creates and migrates a fresh database on [`server_url`]. Fails when the server
    /// cannot be reached or started, refuses `CREATE DATABASE`, or a migration fails.
    pub async fn new() -> Result<Self, TestDatabaseError> {
        // Starting the private instance blocks (initdb, pg_ctl): off the runtime.
        let server = tokio::task::spawn_blocking(server_url)
            .await
            .map_err(|e| TestDatabaseError::PrivatePostgres(e.to_string()))??;
        Self::on_server(&server).await
    }

    /// Like [`TestDatabase::new`] on the server at `server` (any database of it).
    pub async fn on_server(server: &str) -> Result<Self, TestDatabaseError> {
        let db_error = |source| TestDatabaseError::Database {
            server: server.to_owned(),
            source,
        };
        let name = format!("herald_test_{:016x}", rand::random::<u64>());
        let admin = connect(server, 1).await.map_err(db_error)?;
        let created = sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&admin)
            .await;
        admin.close().await;
        created.map_err(db_error)?;
        let url = with_database(server, &name);
        let pool = match migrated(&url).await {
            Ok(pool) => pool,
            Err(e) => {
                // Best effort: the error to report is the migration's.
                let _ = drop_database(&url, &name).await;
                return Err(e);
            }
        };
        Ok(Self {
            name,
            url,
            pool,
            owned: true,
        })
    }

    /// A pool on the database (8 connections).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name (`herald_test_<16 hex digits>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Closes the pool and drops the database. Fails when the server cannot be reached
    /// or refuses the drop.
    pub async fn close(mut self) -> Result<(), TestDatabaseError> {
        self.owned = false;
        self.pool.close().await;
        drop_database(&self.url, &self.name).await
    }
}

impl Drop for TestDatabase {
    /// Drops a database that was not closed (its test panicked), on a thread of its own
    /// so it works inside and outside a runtime; a failure leaves the database behind.
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let (url, name) = (self.url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(drop_database(&url, &name)).ok()
        });
        let _ = dropped.join();
    }
}

async fn migrated(url: &str) -> Result<PgPool, TestDatabaseError> {
    let pool = connect(url, POOL_SIZE)
        .await
        .map_err(|source| TestDatabaseError::Database {
            server: url.to_owned(),
            source,
        })?;
    herald_worker::db::migrate(&pool).await?;
    Ok(pool)
}

async fn connect(url: &str, connections: u32) -> Result<PgPool, sqlx::Error> {
    PgPoolOptions::new()
        .max_connections(connections)
        .acquire_timeout(CONNECT_TIMEOUT)
        .connect(url)
        .await
}

/// `DROP DATABASE … WITH (FORCE)`: connections still open (a worker task the test left
/// running) are ended by the server.
async fn drop_database(url: &str, name: &str) -> Result<(), TestDatabaseError> {
    let server = with_database(url, "postgres");
    let db_error = |source| TestDatabaseError::Database {
        server: server.clone(),
        source,
    };
    let admin = connect(&server, 1).await.map_err(db_error)?;
    let dropped = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await;
    admin.close().await;
    dropped.map(|_| ()).map_err(db_error)
}

/// Herald's audit invariant on `pool`: every job that is not running has exactly one
/// audit row for each attempt it made, numbered 1..=attempt. Returns the jobs that
/// break it as `(job id, attempts, audit rows)`.
pub async fn unaudited_attempts(pool: &PgPool) -> Result<Vec<(i64, i32, i64)>, sqlx::Error> {
    let rows = sqlx::query_file!("queries/unaudited_attempts.sql")
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.id, r.attempt, r.audit_rows))
        .collect())
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
