//! `herald console add-user NAME --role viewer|operator`: creates a console user with a
//! generated password, printed once (never a built-in default; Herald keeps only its
//! Argon2id hash).

use clap::Args;

use super::auth::{generate_password, hash_password};
use super::sessions::Role;
use crate::cli::{CliError, Context};

/// Arguments of `herald console add-user`.
#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// The login name (letters, digits, `.`, `_`, `@`, `-`; at most 64).
    pub username: String,
    /// What the user may do: `viewer` reads, `operator` also replays and cancels.
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

/// A role on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    /// Reads everything.
    Viewer,
    /// Reads, replays and cancels.
    Operator,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Viewer => Self::Viewer,
            RoleArg::Operator => Self::Operator,
        }
    }
}

/// Whether `name` is a valid username (the table's CHECK, said early).
fn valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
}

/// Adds the user and prints `username`, role and the generated password.
pub async fn add_user(args: AddUserArgs, ctx: &mut Context<'_>) -> Result<(), CliError> {
    if !valid(&args.username) {
        return Err(CliError::Usage(
            "a username is 1-64 letters, digits, '.', '_', '@' or '-'".to_owned(),
        ));
    }
    let role = match Role::from(args.role) {
        Role::Viewer => "viewer",
        Role::Operator => "operator",
    };
    let password = generate_password();
    let hash = hash_password(&password).map_err(|e| CliError::Failed(e.to_string()))?;
    let pool = ctx.pool().await?;
    let id = sqlx::query_file_scalar!("queries/console/insert_user.sql", args.username, hash, role)
        .fetch_optional(&pool)
        .await
        .map_err(|e| {
            CliError::Failed(format!("cannot add the user: {}", crate::cli::one_line(&e)))
        })?;
    if id.is_none() {
        return Err(CliError::Failed(format!(
            "user {} exists already; nothing changed",
            args.username
        )));
    }
    tracing::info!(
        target: "herald::audit",
        { console.user = %args.username, console.role = role },
        "console user added"
    );
    writeln!(ctx.out, "user:     {}", args.username)?;
    writeln!(ctx.out, "role:     {role}")?;
    writeln!(ctx.out, "password: {password}")?;
    writeln!(ctx.out, "(shown once; Herald keeps only its hash)")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_table_rule() {
        for ok in ["alice", "a.b_c@d-e", &"x".repeat(64)] {
            assert!(valid(ok), "{ok}");
        }
        for bad in ["", "a b", "<script>", &"x".repeat(65), "é"] {
            assert!(!valid(bad), "{bad}");
        }
    }
}
