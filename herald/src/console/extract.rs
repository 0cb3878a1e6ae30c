//! `ApiJson`: axum's JSON body extractor with its rejections in the console's error
//! shape: a body over the limit is `PAYLOAD_TOO_LARGE`, anything else unreadable is
//! `VALIDATION_ERROR` with serde's one-line reason (which names the field, never a type
//! path of ours).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::errors::ApiError;

/// The largest request body the console reads: 64 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;

/// A JSON body, rejected in the console's error shape.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(rejected(&rejection)),
        }
    }
}

fn rejected(rejection: &JsonRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(BODY_LIMIT);
    }
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::Validation(
            "the body must be JSON (Content-Type: application/json)".to_owned(),
        ),
        JsonRejection::JsonDataError(e) => {
            let why = std::error::Error::source(e).map_or_else(String::new, |s| s.to_string());
            // serde names our types in some messages ("expected struct LoginBody"):
            // those are not the client's business.
            if why.is_empty() || why.contains("struct") || why.contains("enum") {
                ApiError::Validation("the body does not have the expected fields".to_owned())
            } else {
                ApiError::Validation(format!(
                    "the body does not match: {}",
                    herald_worker::sanitize::sanitize(&why)
                ))
            }
        }
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::Validation("the body is not valid JSON".to_owned())
        }
        _ => ApiError::Validation("the body could not be read".to_owned()),
    }
}
