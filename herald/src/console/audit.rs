//! The console's authentication audit: one `herald.console_events` row per login,
//! failed login, throttled login, logout and permission denial (actor, source address,
//! time, what was attempted), and the same event on the `herald::audit` log target.
//! Operator actions taken from the console are recorded where the CLI records them
//! (`herald.operator_actions`), with the logged-in user as the actor.

use sqlx::PgExecutor;

use super::errors::ApiError;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A successful login.
    Login,
    /// A wrong username or password.
    LoginFailed,
    /// A login refused by the failed-login throttle (the password was not checked).
    LoginThrottled,
    /// A logout.
    Logout,
    /// A request the role or the CSRF check refused.
    PermissionDenied,
}

impl Event {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Login => "login",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::Logout => "logout",
            Self::PermissionDenied => "permission_denied",
        }
    }
}

/// Records `event` by `actor` from `source`, having attempted `attempted` (all three
/// sanitised: control characters escaped, so a hostile username cannot forge a line).
pub(crate) async fn record(
    db: impl PgExecutor<'_>,
    actor: &str,
    event: Event,
    source: &str,
    attempted: &str,
) -> Result<(), ApiError> {
    use herald_worker::sanitize::sanitize;
    let (actor, source, attempted) = (sanitize(actor), sanitize(source), sanitize(attempted));
    sqlx::query_file!(
        "queries/console/insert_event.sql",
        actor,
        event.as_str(),
        source,
        attempted
    )
    .execute(db)
    .await?;
    tracing::info!(
        target: "herald::audit",
        { console.event = event.as_str(), console.user = %actor, console.source = %source, http.attempted = %attempted },
        "console authentication event"
    );
    Ok(())
}
