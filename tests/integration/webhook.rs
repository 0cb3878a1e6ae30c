//! `notify.webhook` against real sockets: every failure's cause reaches the audit trail
//! (and the fingerprint), without the worker's log.

use std::collections::HashSet;
use std::time::Duration;

use herald_jobs::notify::WebhookJob;
use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::wait::settled;
use herald_tests::workers::InProcessWorker;
use herald_worker::WorkerConfig;
use herald_worker::fingerprint::fingerprint;
use herald_worker::runtime::default_registry;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SETTLE: Duration = Duration::from_secs(30);

async fn enqueue_webhook(db: &TestDb, url: String) -> i64 {
    let job = WebhookJob {
        url,
        body: json!({ "event": "test" }),
    };
    let job = NewJob::new(&job)
        .unwrap_or_else(|e| panic!("{e}"))
        .max_attempts(1);
    enqueue(&db.pool, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

async fn local_listener() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    (listener, port)
}

async fn webhook_worker(db: &TestDb) -> InProcessWorker {
    let env = [
        ("HERALD_WEBHOOK_SIGNING_KEYS", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("HERALD_WEBHOOK_TIMEOUT", "5s"),
    ];
    InProcessWorker::start_with_registry(db, "hooks", &env, |cfg: &WorkerConfig| {
        default_registry(cfg).unwrap_or_else(|e| panic!("registry: {e}"))
    })
    .await
}

#[tokio::test]
async fn refused_unresolved_and_tls_failures_leave_different_trails_and_fingerprints() {
    let db = TestDb::new().await;
    let (closed, refused_port) = local_listener().await;
    drop(closed);
    // Answers in plain HTTP, so an https request fails its TLS handshake.
    let (plain, plain_port) = local_listener().await;
    let server = tokio::spawn(async move {
        while let Ok((mut socket, _)) = plain.accept().await {
            let mut buf = [0u8; 512];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let refused = enqueue_webhook(&db, format!("http://127.0.0.1:{refused_port}/h")).await;
    let unresolved = enqueue_webhook(&db, "http://hooks.herald.invalid/h".to_owned()).await;
    let tls = enqueue_webhook(&db, format!("https://127.0.0.1:{plain_port}/h")).await;
    let worker = webhook_worker(&db).await;
    settled(&db.pool, &[refused, unresolved, tls], SETTLE).await;
    worker.stop().await;
    server.abort();

    let mut messages = Vec::new();
    let mut fingerprints = HashSet::new();
    for (id, cause) in [
        (refused, "connection refused"),
        (unresolved, "name did not resolve"),
        (tls, "TLS failure"),
    ] {
        let (code, message, chain): (String, String, String) = sqlx::query_as(
            "SELECT error_code, message, error_chain FROM herald.attempts WHERE job_id = $1",
        )
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("audit row of {id}: {e}"));
        assert_eq!(code, "UPSTREAM_UNAVAILABLE");
        assert!(message.ends_with(&format!("failed: {cause}")), "{message}");
        assert!(
            chain.starts_with(&message) && chain.len() > message.len(),
            "the chain explains more than the message: {chain}"
        );
        fingerprints.insert(fingerprint("notify.webhook", &code, &message));
        messages.push(message);
    }
    assert_eq!(fingerprints.len(), 3, "{messages:?}");
    db.finish().await;
}
