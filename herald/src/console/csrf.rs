//! CSRF protection: every state-changing request (any method but GET, HEAD, OPTIONS)
//! made with a session must send that session's token in the `X-CSRF-Token` header.
//! The token is random per session, stored with it, given out by the login answer and
//! `GET /api/v1/session` (and embedded in the pages), and compared in constant time.
//! The login itself has no session yet: it must be `Content-Type: application/json`,
//! which a cross-site form cannot send without a CORS preflight this server never
//! grants; with `SameSite=Strict` on the cookie, a cross-site request carries no
//! session anyway.

use axum::http::{HeaderMap, Method};
use subtle::ConstantTimeEq;

/// The header the token travels in.
pub const HEADER: &str = "x-csrf-token";

/// A fresh token: 32 random bytes as 64 hex digits.
pub(crate) fn new_token() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// Whether `method` changes state (and so needs the token).
pub(crate) fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether `headers` carry `expected` in [`HEADER`] (constant-time comparison).
pub(crate) fn carries(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(HEADER)
        .map(|v| v.as_bytes().ct_eq(expected.as_bytes()).into())
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_passes_and_only_unsafe_methods_need_it() {
        let token = new_token();
        assert_eq!(token.len(), 64);
        let mut headers = HeaderMap::new();
        assert!(!carries(&headers, &token));
        headers.insert(HEADER, "nope".parse().unwrap_or_else(|e| panic!("{e}")));
        assert!(!carries(&headers, &token));
        headers.insert(HEADER, token.parse().unwrap_or_else(|e| panic!("{e}")));
        assert!(carries(&headers, &token));
        assert!(changes_state(&Method::POST) && changes_state(&Method::DELETE));
        assert!(!changes_state(&Method::GET) && !changes_state(&Method::HEAD));
    }
}
