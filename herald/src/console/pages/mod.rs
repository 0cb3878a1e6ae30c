//! The console's web pages: one HTML shell, one script and one stylesheet, embedded in
//! the binary (`assets/`: no CDN, no build step, works offline). The script's only data
//! source is the JSON API and the live stream; it builds every element with
//! `textContent`, never HTML from data, so hostile job payloads and messages render as
//! text. The files hold no data and answer without a session (the shell shows the
//! login form until `GET /api/v1/session` succeeds).
//!
//! | path | file |
//! |---|---|
//! | `/` | `assets/index.html` (every page: `#/overview`, `#/failures`, `#/jobs`, `#/jobs/{id}`, `#/actions`, `#/queues`) |
//! | `/assets/app.js` | `assets/app.js` |
//! | `/assets/app.css` | `assets/app.css` |
//!
//! [`security_headers`] puts a strict Content-Security-Policy ([`CSP`]: scripts and
//! styles from this origin only, no inline script, no framing) and
//! `X-Content-Type-Options: nosniff` on every answer, the API's included.

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ConsoleState;

/// The Content-Security-Policy of every answer.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX: &str = include_str!("assets/index.html");
const SCRIPT: &str = include_str!("assets/app.js");
const STYLE: &str = include_str!("assets/app.css");

/// The pages' routes.
pub(crate) fn routes() -> Router<Arc<ConsoleState>> {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/assets/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route(
            "/assets/app.css",
            get(|| async { asset("text/css; charset=utf-8", STYLE) }),
        )
}

/// An embedded file; browsers re-validate it on each load (a new binary serves new files).
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [(CONTENT_TYPE, content_type), (CACHE_CONTROL, "no-cache")],
        body,
    )
        .into_response()
}

/// Middleware around every route: the security headers.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pages_load_no_inline_script_and_never_write_html_from_data() {
        assert!(INDEX.contains(r#"<script src="/assets/app.js""#), "{INDEX}");
        assert!(!INDEX.contains("<script>") && !INDEX.contains("onclick"));
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!SCRIPT.contains(banned), "app.js uses {banned}");
        }
        assert!(CSP.contains("frame-ancestors 'none'") && !CSP.contains("unsafe-inline"));
    }
}
