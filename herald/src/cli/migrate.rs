//! `herald migrate`: applies Herald's migrations; running it again changes nothing.

use std::io::Write;

use super::{CliError, connect};
use herald_worker::config::WorkerConfig;

/// Applies the migrations to `DATABASE_URL`.
pub async fn run(out: &mut impl Write) -> Result<(), CliError> {
    let cfg = WorkerConfig::from_env()?;
    let pool = connect(&cfg).await?;
    herald_worker::db::migrate(&pool).await.map_err(|e| {
        CliError::Failed(format!(
            "cannot apply migrations: {}",
            herald_worker::sanitize::sanitize(&e.to_string())
        ))
    })?;
    writeln!(out, "migrations applied")?;
    Ok(())
}
