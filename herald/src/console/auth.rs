//! Passwords and logging in and out.
//!
//! Passwords are Argon2id hashes (the `argon2` crate's defaults: 19 MiB, 2 passes) in
//! `herald.console_users`; `herald console add-user` generates each password
//! ([`generate_password`]) and prints it once. There is no built-in account.
//!
//! **The failed-login throttle**, enforced in PostgreSQL so it holds across every console
//! process: a login is refused with `RATE_LIMITED` (audited as `login_throttled`, the
//! password not checked) while the username has [`MAX_FAILURES_PER_USER`] or more
//! failed logins in the last [`THROTTLE_WINDOW`], or the source address has
//! [`MAX_FAILURES_PER_ADDR`] or more. Attempts for one username are serialised by a
//! transaction-scoped advisory lock, so parallel attempts cannot race past the count.
//! An unknown username costs the same hash check as a known one.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

use super::audit::{self, Event};
use super::errors::ApiError;
use super::extract::ApiJson;
use super::sessions::{self, Meta, Role, Session};
use super::{ConsoleState, csrf};

/// Failed logins for one username within [`THROTTLE_WINDOW`] that refuse further ones.
pub const MAX_FAILURES_PER_USER: i64 = 5;
/// Failed logins from one source address within [`THROTTLE_WINDOW`] that refuse further ones.
pub const MAX_FAILURES_PER_ADDR: i64 = 20;
/// The throttle's window: 15 minutes.
pub const THROTTLE_WINDOW: Duration = Duration::from_secs(15 * 60);

/// The length of a generated password (62 symbols: ~119 bits).
const PASSWORD_LEN: usize = 20;

/// A hash or verification failed inside the hashing library.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// A fresh random password.
pub fn generate_password() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), PASSWORD_LEN)
}

/// The Argon2id PHC string of `password`, with a random salt.
pub fn hash_password(password: &str) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())
        .map_err(|e| HashError(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (a malformed hash never matches).
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a random password nobody knows, checked for unknown usernames so they
/// take as long as known ones.
static DECOY: LazyLock<String> =
    LazyLock::new(|| hash_password(&generate_password()).unwrap_or_default());

/// The body of `POST /api/v1/login`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginBody {
    username: String,
    password: String,
}

/// Who is logged in, and the token state-changing requests must send.
#[derive(Debug, Serialize)]
pub(crate) struct SessionInfo {
    username: String,
    role: Role,
    csrf_token: String,
}

impl From<&Session> for SessionInfo {
    fn from(s: &Session) -> Self {
        Self {
            username: s.username.clone(),
            role: s.role,
            csrf_token: s.csrf_token.clone(),
        }
    }
}

/// `POST /api/v1/login`: checks the throttle, then the password; on success opens a
/// session (cookie) and answers who is logged in and the CSRF token.
pub(crate) async fn login(
    State(state): State<Arc<ConsoleState>>,
    meta: Meta,
    ApiJson(body): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let Meta {
        source, attempted, ..
    } = meta;
    let username: String = body.username.trim().chars().take(64).collect();
    if username.is_empty() {
        return Err(ApiError::Validation(
            "username must not be empty".to_owned(),
        ));
    }
    let mut tx = state.pool.begin().await?;
    sqlx::query_file!("queries/console/login_lock.sql", username)
        .execute(&mut *tx)
        .await?;
    let window = THROTTLE_WINDOW.as_secs_f64();
    let recent = sqlx::query_file!(
        "queries/console/recent_failures.sql",
        username,
        source,
        window
    )
    .fetch_one(&mut *tx)
    .await?;
    if recent.by_user >= MAX_FAILURES_PER_USER || recent.by_addr >= MAX_FAILURES_PER_ADDR {
        audit::record(
            &mut *tx,
            &username,
            Event::LoginThrottled,
            &source,
            &attempted,
        )
        .await?;
        tx.commit().await?;
        return Err(ApiError::RateLimited(format!(
            "too many failed logins; try again within {} minutes",
            THROTTLE_WINDOW.as_secs() / 60
        )));
    }
    let user = sqlx::query_file!("queries/console/user_by_name.sql", username)
        .fetch_optional(&mut *tx)
        .await?;
    let hash = user
        .as_ref()
        .map_or_else(|| DECOY.clone(), |u| u.password_hash.clone());
    let password = body.password;
    let matches = tokio::task::spawn_blocking(move || verify(&password, &hash))
        .await
        .map_err(|e| ApiError::Internal(format!("password check: {e}")))?;
    let Some(user) = user.filter(|_| matches) else {
        audit::record(&mut *tx, &username, Event::LoginFailed, &source, &attempted).await?;
        tx.commit().await?;
        return Err(ApiError::Unauthenticated(
            "wrong username or password".to_owned(),
        ));
    };
    let token = sessions::new_token();
    let csrf_token = csrf::new_token();
    let ttl = sessions::SESSION_TTL.as_secs_f64();
    sqlx::query_file!(
        "queries/console/insert_session.sql",
        &sessions::token_hash(&token)[..],
        user.id,
        csrf_token,
        source,
        ttl
    )
    .execute(&mut *tx)
    .await?;
    audit::record(&mut *tx, &user.username, Event::Login, &source, &attempted).await?;
    tx.commit().await?;
    let session = Session {
        username: user.username,
        role: Role::from_stored(&user.role),
        csrf_token,
        source,
    };
    let cookie = sessions::cookie(&token, state.secure_cookie);
    Ok(([(SET_COOKIE, cookie)], Json(SessionInfo::from(&session))).into_response())
}

/// `POST /api/v1/logout`: ends the session everywhere and clears the cookie.
pub(crate) async fn logout(
    State(state): State<Arc<ConsoleState>>,
    session: Session,
    meta: Meta,
) -> Result<Response, ApiError> {
    if let Some(token) = &meta.token {
        sqlx::query_file!(
            "queries/console/delete_session.sql",
            &sessions::token_hash(token)[..]
        )
        .execute(&state.pool)
        .await?;
    }
    audit::record(
        &state.pool,
        &session.username,
        Event::Logout,
        &session.source,
        &meta.attempted,
    )
    .await?;
    let cookie = sessions::cleared_cookie(state.secure_cookie);
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

/// `GET /api/v1/session`: who is logged in, and the CSRF token.
pub(crate) async fn current(session: Session) -> Json<SessionInfo> {
    Json(SessionInfo::from(&session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let password = generate_password();
        assert_eq!(password.len(), PASSWORD_LEN);
        assert_ne!(password, generate_password());
        let hash = hash_password(&password).unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify(&password, &hash));
        assert!(!verify("wrong", &hash));
        assert!(!verify(&password, "not a hash"));
    }
}
