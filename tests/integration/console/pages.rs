//! The pages: served from the binary with a strict Content-Security-Policy, holding no
//! data (everything comes from the API), and the API's answers carry the same headers.

use reqwest::Method;

use super::{Console, send};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_pages_are_embedded_with_a_strict_content_security_policy() {
    let console = Console::start().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/assets/app.js", "text/javascript"),
        ("/assets/app.css", "text/css"),
        ("/api/v1/overview", "application/json"),
    ] {
        let response = console
            .http
            .get(console.url(path))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let csp = header(&response, "content-security-policy");
        for rule in [
            "default-src 'self'",
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(rule), "{path}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{path}: {csp}");
        assert_eq!(
            header(&response, "x-content-type-options"),
            "nosniff",
            "{path}"
        );
        assert_eq!(header(&response, "x-frame-options"), "DENY", "{path}");
        assert!(
            header(&response, "content-type").starts_with(kind),
            "{path}"
        );
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if path.starts_with("/api/") {
            assert_eq!(status, 401, "the API still needs a session");
        } else {
            assert_eq!(status, 200, "{path}");
            assert!(
                !body.contains("<script>") && !body.contains("innerHTML"),
                "{path}"
            );
        }
    }
    let (status, _) = send(console.http.request(Method::GET, console.url("/nope"))).await;
    assert_eq!(status, 404);
    console.finish().await;
}
