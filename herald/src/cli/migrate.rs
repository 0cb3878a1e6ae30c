//! `herald migrate`: applies Herald's migrations; running it again changes nothing.

use super::{CliError, Context};

/// Applies the migrations to `DATABASE_URL`.
pub async fn run(ctx: &mut Context<'_>) -> Result<(), CliError> {
    let pool = ctx.pool().await?;
    herald_worker::db::migrate(&pool).await.map_err(|e| {
        CliError::Failed(format!(
            "cannot apply migrations: {}",
            herald_worker::sanitize::sanitize(&e.to_string())
        ))
    })?;
    writeln!(ctx.out, "migrations applied")?;
    Ok(())
}
