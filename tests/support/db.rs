//! A fresh, migrated database per test: [`herald_testkit::TestDatabase`] (the server is
//! `HERALD_TEST_DATABASE_URL` or `DATABASE_URL` when set, else a private PostgreSQL in
//! `$HERALD_HOME/test` on port 54330) with the test fixtures applied.
//! [`TestDb::finish`] asserts the audit invariant (every finished attempt has exactly
//! one audit row) and drops the database.

use herald_testkit::TestDatabase;
pub use herald_testkit::database::{server_url as try_server_url, with_database};
use sqlx::PgPool;

/// The admin URL of the server tests create databases on (starts it when private).
pub fn server_url() -> String {
    try_server_url().unwrap_or_else(|e| panic!("{e}"))
}

/// A database created for one test.
pub struct TestDb {
    /// Its name.
    pub name: String,
    /// Its URL.
    pub url: String,
    /// A pool on it.
    pub pool: PgPool,
    database: TestDatabase,
}

impl TestDb {
    /// Creates and migrates a fresh database, with the test fixtures applied.
    pub async fn new() -> Self {
        let database = TestDatabase::new().await.unwrap_or_else(|e| panic!("{e}"));
        Self::with_fixtures(database).await
    }

    /// Like [`TestDb::new`] on a given server (admin URL).
    pub async fn on_server(server: &str) -> Self {
        let database = TestDatabase::on_server(server)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        Self::with_fixtures(database).await
    }

    async fn with_fixtures(database: TestDatabase) -> Self {
        sqlx::raw_sql(include_str!("../fixtures/effects.sql"))
            .execute(database.pool())
            .await
            .unwrap_or_else(|e| panic!("fixtures: {e}"));
        Self {
            name: database.name().to_owned(),
            url: database.url().to_owned(),
            pool: database.pool().clone(),
            database,
        }
    }

    /// Asserts the audit invariant, then drops the database.
    pub async fn finish(self) {
        assert_every_attempt_audited_once(&self.pool).await;
        self.pool.close().await;
        // A database that cannot be dropped (its server was stopped) is left behind.
        let _ = self.database.close().await;
    }
}

/// Every job that is not running has exactly one audit row for each attempt it made,
/// numbered 1..=attempt, and no audit row exists for a job's unmade attempt.
pub async fn assert_every_attempt_audited_once(pool: &PgPool) {
    let broken = herald_testkit::database::unaudited_attempts(pool)
        .await
        .unwrap_or_else(|e| panic!("audit check: {e}"));
    assert!(
        broken.is_empty(),
        "jobs whose attempts are not audited exactly once (id, attempts, rows): {broken:?}"
    );
}
