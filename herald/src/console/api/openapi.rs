//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document, hand-written
//! (`openapi.json` beside this file) and embedded in the binary.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::console::sessions::Session;

/// The document.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Answers the document.
pub(crate) async fn document(_session: Session) -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_json_naming_every_route() {
        let doc: serde_json::Value =
            serde_json::from_str(super::DOCUMENT).unwrap_or_else(|e| panic!("{e}"));
        let paths = doc["paths"].as_object().map(|p| p.len()).unwrap_or(0);
        assert!(paths >= 5, "{doc}");
        for (_, route) in crate::console::router::ROUTES {
            let path = route
                .trim_start_matches("/api/v1")
                .replace("/jobs/1", "/jobs/{id}")
                .replace("/workflows/1", "/workflows/{batch_id}");
            assert!(doc["paths"].get(&path).is_some(), "{route}");
        }
    }
}
