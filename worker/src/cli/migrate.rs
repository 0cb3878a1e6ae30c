//! `herald migrate`: applies Herald's migrations; running it again changes nothing.

use std::io::Write;

use super::{CliError, connect};
use crate::config::WorkerConfig;

/// Applies the migrations to `DATABASE_URL`.
pub async fn run(out: &mut impl Write) -> Result<(), CliError> {
    let cfg = WorkerConfig::from_env()?;
    let pool = connect(&cfg).await?;
    crate::db::migrate(&pool).await.map_err(|e| {
        CliError::Failed(format!(
            "cannot apply migrations: {}",
            crate::sanitize::sanitize(&e.to_string())
        ))
    })?;
    writeln!(out, "migrations applied")?;
    Ok(())
}
