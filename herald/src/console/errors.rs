//! The console's one error shape, and the one place that logs an unexpected failure.
//!
//! Every error the API answers is `{"error": {"code": "...", "message": "..."}}`
//! (plus `"request_id"` for `INTERNAL_ERROR`), with a stable code:
//!
//! | code | status | when |
//! |---|---|---|
//! | `UNAUTHENTICATED` | 401 | no session, an expired one, or a wrong username or password |
//! | `PERMISSION_DENIED` | 403 | the role does not allow it, or the CSRF token is missing or wrong (audited) |
//! | `NOT_FOUND` | 404 | no such job, route or resource |
//! | `METHOD_NOT_ALLOWED` | 405 | the route exists, not with this method |
//! | `VALIDATION_ERROR` | 400 | a malformed body, parameter or value (the message names the field) |
//! | `CONFLICT` | 409 | the resource exists already or changed meanwhile |
//! | `PAYLOAD_TOO_LARGE` | 413 | the body is over the limit |
//! | `RATE_LIMITED` | 429 | too many failed logins for the user or from the address |
//! | `TIMEOUT` | 408 | the request's body was still arriving when the request timeout ran out |
//! | `TIMEOUT` | 503 | the request did not finish within the request timeout (its body had arrived) |
//! | `INTERNAL_ERROR` | 500 | anything unexpected: logged once at ERROR with `request.id`; the answer carries the same id and nothing else |
//!
//! Converting an error into a response has no side effect: an internal failure becomes
//! an empty 500 carrying its detail in the response's extensions, and [`log_failures`]
//! (a middleware around every route) logs it once and writes the generic body. No
//! message ever carries SQL, a stack, a path or a type name: the messages of the other
//! codes are written here or by the handlers, never copied from a lower error.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error: its code, and a message for the client (or, for `Internal`, the
/// detail for the server log only).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// No valid session, or bad credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// The role or the CSRF check refuses it.
    #[error("{0}")]
    PermissionDenied(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("the route does not take this method")]
    MethodNotAllowed,
    /// Bad input; the message names the field.
    #[error("{0}")]
    Validation(String),
    /// Exists already, or changed meanwhile.
    #[error("{0}")]
    Conflict(String),
    /// The body is over the limit.
    #[error("the request body is over {0} bytes")]
    PayloadTooLarge(usize),
    /// Too many failed logins.
    #[error("{0}")]
    RateLimited(String),
    /// The request ran out of time, its body read.
    #[error("the request did not finish within {0} seconds")]
    Timeout(f64),
    /// The request ran out of time while its body was still arriving.
    #[error("the request body did not arrive within {0} seconds")]
    BodyTimeout(f64),
    /// Anything unexpected; the text is for the server log, never the client.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::PermissionDenied(_) => "PERMISSION_DENIED",
            Self::NotFound(_) => "NOT_FOUND",
            Self::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Self::Validation(_) => "VALIDATION_ERROR",
            Self::Conflict(_) => "CONFLICT",
            Self::PayloadTooLarge(_) => "PAYLOAD_TOO_LARGE",
            Self::RateLimited(_) => "RATE_LIMITED",
            Self::Timeout(_) | Self::BodyTimeout(_) => "TIMEOUT",
            Self::Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Validation(_) => StatusCode::BAD_REQUEST,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    /// A database error is unexpected here: its full text goes to the log only.
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(format!("database: {e}"))
    }
}

/// An internal failure's detail, carried from the handler to [`log_failures`].
#[derive(Debug, Clone)]
struct InternalDetail(String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = self {
            let mut response = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            response.extensions_mut().insert(InternalDetail(detail));
            return response;
        }
        let body = json!({"error": {"code": self.code(), "message": self.to_string()}});
        (self.status(), Json(body)).into_response()
    }
}

/// A fresh request id: 16 random hex digits.
fn request_id() -> String {
    hex::encode(rand::random::<[u8; 8]>())
}

/// Middleware around every route: gives each request an id (`x-request-id` on the
/// answer), and turns an internal failure into ONE ERROR event with its detail and the
/// id, answering `INTERNAL_ERROR` with the id and nothing else.
pub(crate) async fn log_failures(request: Request, next: Next) -> Response {
    let id = request_id();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let mut response = next.run(request).await;
    if let Some(InternalDetail(detail)) = response.extensions_mut().remove::<InternalDetail>() {
        tracing::error!(
            request.id = %id, http.method = %method, http.path = %herald_worker::sanitize::sanitize(&path),
            error.detail = %herald_worker::sanitize::sanitize(&detail),
            "console request failed"
        );
        let body = json!({"error": {
            "code": "INTERNAL_ERROR",
            "message": format!("internal error; quote request id {id}"),
            "request_id": id,
        }});
        response = (StatusCode::INTERNAL_SERVER_ERROR, Json(body)).into_response();
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_status_and_internal_detail_stays_out_of_the_body() {
        let cases = [
            (
                ApiError::Unauthenticated("x".into()),
                401,
                "UNAUTHENTICATED",
            ),
            (
                ApiError::PermissionDenied("x".into()),
                403,
                "PERMISSION_DENIED",
            ),
            (ApiError::NotFound("x".into()), 404, "NOT_FOUND"),
            (ApiError::Validation("x".into()), 400, "VALIDATION_ERROR"),
            (ApiError::MethodNotAllowed, 405, "METHOD_NOT_ALLOWED"),
            (ApiError::Conflict("x".into()), 409, "CONFLICT"),
            (ApiError::PayloadTooLarge(10), 413, "PAYLOAD_TOO_LARGE"),
            (ApiError::RateLimited("x".into()), 429, "RATE_LIMITED"),
            (ApiError::Timeout(1.0), 503, "TIMEOUT"),
            (ApiError::BodyTimeout(1.0), 408, "TIMEOUT"),
            (
                ApiError::Internal("SELECT secret".into()),
                500,
                "INTERNAL_ERROR",
            ),
        ];
        for (e, status, code) in cases {
            assert_eq!((e.status().as_u16(), e.code()), (status, code));
        }
        let response = ApiError::Internal("SELECT secret".into()).into_response();
        assert!(response.extensions().get::<InternalDetail>().is_some());
    }
}
