//! Sessions: a random token in a cookie, its SHA-256 in `herald.console_sessions`, so
//! every console process of the fleet shares them and a logout ends one everywhere.
//!
//! | cookie attribute | value |
//! |---|---|
//! | name | `herald_session` |
//! | `HttpOnly` | always (scripts cannot read it) |
//! | `SameSite` | `Strict` (no cross-site request carries it) |
//! | `Secure` | unless `--insecure-cookie`, which only a loopback address accepts |
//! | `Path` | `/` |
//! | `Max-Age` | the session lifetime ([`SESSION_TTL`]); the database expiry is the one enforced |
//!
//! [`Session`] is the extractor every route but the login takes: without a live session
//! it answers `UNAUTHENTICATED`; on a state-changing request without the session's CSRF
//! token, `PERMISSION_DENIED` (audited). [`Operator`] also requires the operator role and
//! audits a refusal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, OriginalUri};
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};

use super::errors::ApiError;
use super::{ConsoleState, audit, csrf};

/// The cookie's name.
pub const COOKIE_NAME: &str = "herald_session";

/// How long a session lives after login: 12 hours.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A console role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Reads, replays and cancels.
    Operator,
}

impl Role {
    /// From its stored name; an unknown one reads as the least privileged.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "operator" => Self::Operator,
            _ => Self::Viewer,
        }
    }
}

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct Session {
    /// Their username (the actor of what they do).
    pub username: String,
    /// Their role.
    pub role: Role,
    /// The session's CSRF token.
    pub csrf_token: String,
    /// Where the request came from.
    pub source: String,
}

/// A session whose user is an operator.
#[derive(Debug, Clone)]
pub struct Operator(pub Session);

/// A fresh session token (the cookie value): 32 random bytes, hex.
pub(crate) fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// What the database stores for `token`.
pub(crate) fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// The `Set-Cookie` value opening a session with `token`.
pub(crate) fn cookie(token: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    )
}

/// The `Set-Cookie` value ending the session in the browser.
pub(crate) fn cleared_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}")
}

/// The session token in the request's cookies, if any.
pub(crate) fn token_of(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

/// The peer address of the request, as audited.
pub(crate) fn source_of(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// What a request attempted, as audited: `POST /api/v1/jobs/actions` (the path as
/// requested, not as seen inside the nested `/api/v1` router).
pub(crate) fn attempted(parts: &Parts) -> String {
    let path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path(), |OriginalUri(uri)| uri.path());
    herald_worker::sanitize::sanitize(&format!("{} {path}", parts.method))
}

/// What the audit needs of a request: where it came from, what it attempted, and the
/// session token it carries.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub source: String,
    pub attempted: String,
    pub token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            source: source_of(parts),
            attempted: attempted(parts),
            token: token_of(parts),
        })
    }
}

impl FromRequestParts<Arc<ConsoleState>> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ConsoleState>,
    ) -> Result<Self, ApiError> {
        let unauthenticated = || ApiError::Unauthenticated("log in first".to_owned());
        let token = token_of(parts).ok_or_else(unauthenticated)?;
        let row = sqlx::query_file!("queries/console/session.sql", &token_hash(&token)[..])
            .fetch_optional(&state.pool)
            .await?
            .ok_or_else(unauthenticated)?;
        let session = Session {
            username: row.username,
            role: Role::from_stored(&row.role),
            csrf_token: row.csrf_token,
            source: source_of(parts),
        };
        if csrf::changes_state(&parts.method) && !csrf::carries(&parts.headers, &session.csrf_token)
        {
            let what = format!("{} (without a valid CSRF token)", attempted(parts));
            audit::record(
                &state.pool,
                &session.username,
                audit::Event::PermissionDenied,
                &session.source,
                &what,
            )
            .await?;
            return Err(ApiError::PermissionDenied(format!(
                "missing or wrong {} header",
                csrf::HEADER
            )));
        }
        Ok(session)
    }
}

impl FromRequestParts<Arc<ConsoleState>> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<ConsoleState>,
    ) -> Result<Self, ApiError> {
        let session = Session::from_request_parts(parts, state).await?;
        if session.role != Role::Operator {
            let what = attempted(parts);
            audit::record(
                &state.pool,
                &session.username,
                audit::Event::PermissionDenied,
                &session.source,
                &what,
            )
            .await?;
            tracing::info!(
                console.user = %session.username, console.source = %session.source, http.attempted = %what,
                "console permission denied"
            );
            return Err(ApiError::PermissionDenied(
                "this needs the operator role".to_owned(),
            ));
        }
        Ok(Operator(session))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_unless_allowed_otherwise() {
        let c = cookie("abc", true);
        for part in [
            "herald_session=abc",
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/",
        ] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!cookie("abc", false).contains("Secure"));
        assert!(cleared_cookie(true).contains("Max-Age=0"));
    }

    #[test]
    fn the_token_is_found_among_other_cookies() {
        let request = axum::http::Request::builder()
            .header(COOKIE, "a=1; herald_session=tok; b=2")
            .body(())
            .unwrap_or_else(|e| panic!("{e}"));
        let (parts, ()) = request.into_parts();
        assert_eq!(token_of(&parts).as_deref(), Some("tok"));
        assert_eq!(token_hash("tok").len(), 32);
    }
}
