//! The console's own metrics, scraped over HTTP from the listener `--metrics-addr`
//! serves, after real requests.

use std::sync::Arc;

use herald::console::metrics::NAMES;
use herald_tests::metrics::{sample, scrape};
use reqwest::Method;
use tokio::sync::oneshot;

use super::Console;

/// Serves `console`'s metrics on an ephemeral port; returns the address and a stop switch.
async fn serve_metrics(console: &Console) -> (std::net::SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (stop, stopped) = oneshot::channel::<()>();
    let metrics = Arc::clone(&console.metrics);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        herald::console::metrics::serve(listener, metrics, shutdown)
            .await
            .unwrap_or_else(|e| panic!("metrics: {e}"));
    });
    (addr, stop)
}

fn requests(text: &str, method: &str, route: &str, class: &str) -> f64 {
    sample(
        text,
        "herald_console_requests_total",
        &format!(r#"method="{method}",route="{route}",status_class="{class}""#),
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status_class_with_their_latency() {
    let console = Console::start().await;
    let (addr, stop) = serve_metrics(&console).await;
    let password = console.add_user("mia", "viewer").await;
    let login = console.login("mia", &password).await;
    for id in [912_345_678_i64, 912_345_679] {
        let (status, _) =
            super::send(console.with_session(Method::GET, &format!("/api/v1/jobs/{id}"), &login))
                .await;
        assert_eq!(status, 404);
    }
    let (status, _) =
        super::send(console.with_session(Method::GET, "/api/v1/queues", &login)).await;
    assert_eq!(status, 200);
    let (status, _) = super::send(console.http.get(console.url("/api/v1/session"))).await;
    assert_eq!(status, 401);
    let (status, _) = super::send(console.http.get(console.url("/no/such/page/x"))).await;
    assert_eq!(status, 404);
    // An internal failure (the schema broken under the running console) is a 5xx.
    sqlx::raw_sql("ALTER TABLE herald.jobs RENAME TO jobs_gone")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, _) =
        super::send(console.with_session(Method::GET, "/api/v1/queues", &login)).await;
    assert_eq!(status, 500);
    sqlx::raw_sql("ALTER TABLE herald.jobs_gone RENAME TO jobs")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let text = scrape(addr)
        .await
        .unwrap_or_else(|| panic!("nothing answered on /metrics"));
    assert_eq!(
        requests(&text, "POST", "/api/v1/login", "2xx"),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(&text, "GET", "/api/v1/jobs/{id}", "4xx"),
        2.0,
        "{text}"
    );
    assert_eq!(
        requests(&text, "GET", "/api/v1/queues", "2xx"),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(&text, "GET", "/api/v1/queues", "5xx"),
        1.0,
        "{text}"
    );
    assert_eq!(
        requests(&text, "GET", "/api/v1/session", "4xx"),
        1.0,
        "{text}"
    );
    assert_eq!(requests(&text, "GET", "unmatched", "4xx"), 1.0, "{text}");
    assert_eq!(
        sample(
            &text,
            "herald_console_request_duration_seconds_count",
            r#"route="/api/v1/jobs/{id}""#
        ),
        Some(2.0),
        "{text}"
    );
    // Raw paths and ids never become label values.
    for raw in ["912345678", "/no/such/page"] {
        assert!(!text.contains(raw), "{raw} in the scrape:\n{text}");
    }
    for name in NAMES {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} not exported"
        );
    }
    assert_eq!(
        sample(&text, "herald_console_streams_open", ""),
        Some(0.0),
        "{text}"
    );
    let _ = stop.send(());
    console.finish().await;
}
