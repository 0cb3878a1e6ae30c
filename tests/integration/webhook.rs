//! `notify.webhook` against real sockets: every failure's cause reaches the audit trail
//! (and the fingerprint), without the worker's log; deliveries carry Standard Webhooks
//! signatures over the job id, one per key; no key, no worker (unless chosen unsigned);
//! keep-alive connections are reused (fewer connections than requests).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use herald_jobs::notify::webhook::{parse_secret, verify};

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::notify::WebhookJob;
use herald_tests::db::TestDb;
use herald_tests::wait::settled;
use herald_tests::workers::{InProcessWorker, test_env};
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

async fn webhook_worker(db: &TestDb, env: &[(&str, &str)]) -> InProcessWorker {
    InProcessWorker::start_with_registry(db, "hooks", env, |cfg: &WorkerConfig| {
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
    let worker = webhook_worker(&db, &[("HERALD_WEBHOOK_TIMEOUT", "5s")]).await;
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

const OLD_KEY: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NEW_KEY: &str = "whsec_bmV3LXNpZ25pbmcta2V5LTIwMjY=";

/// What a capturing receiver saw: each request's headers and body.
type Seen = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn capture(State(seen): State<Seen>, headers: HeaderMap, body: Bytes) -> &'static str {
    seen.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((headers, body));
    "ok"
}

#[tokio::test]
async fn deliveries_carry_one_standard_webhooks_signature_per_key_over_the_job_id() {
    let db = TestDb::new().await;
    let seen = Seen::default();
    let app = Router::new()
        .route("/hook", post(capture))
        .with_state(Arc::clone(&seen));
    let (listener, port) = local_listener().await;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let id = enqueue_webhook(&db, format!("http://127.0.0.1:{port}/hook")).await;
    let keys = format!("{OLD_KEY},{NEW_KEY}");
    let worker = webhook_worker(&db, &[("HERALD_WEBHOOK_SIGNING_KEYS", &keys)]).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;
    server.abort();

    let seen = seen.lock().unwrap_or_else(PoisonError::into_inner).clone();
    assert_eq!(seen.len(), 1, "one delivery");
    let (headers, body) = &seen[0];
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (webhook_id, timestamp) = (header("webhook-id"), header("webhook-timestamp"));
    let signature = header("webhook-signature");
    assert_eq!(
        webhook_id,
        id.to_string(),
        "the id receivers deduplicate on is the job id"
    );
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    for key in [OLD_KEY, NEW_KEY] {
        let key = parse_secret(key).unwrap_or_else(|e| panic!("{e}"));
        assert!(verify(&[key], &webhook_id, &timestamp, body, &signature));
    }
    let other_id = (id + 1).to_string();
    let keys = [parse_secret(OLD_KEY).unwrap_or_else(|e| panic!("{e}"))];
    assert!(
        !verify(&keys, &other_id, &timestamp, body, &signature),
        "the id is signed"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_webhook_worker_without_a_signing_key_refuses_to_start() {
    let db = TestDb::new().await;
    let mut env = test_env(&db.url, "unsigned");
    env.remove("HERALD_WEBHOOK_SIGNING_KEYS");
    let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("config: {e}"));
    let registry = default_registry(&cfg).unwrap_or_else(|e| panic!("registry: {e}"));
    let result = herald_worker::runtime::run(cfg, registry, async {}).await;
    let error = result.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(
        error.contains("notify.webhook")
            && error.contains("HERALD_WEBHOOK_SIGNING_KEYS")
            && error.contains("HERALD_WEBHOOK_UNSIGNED=true"),
        "{error:?}"
    );

    env.insert("HERALD_WEBHOOK_UNSIGNED".into(), "true".into());
    let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned())
        .unwrap_or_else(|e| panic!("config: {e}"));
    let registry = default_registry(&cfg).unwrap_or_else(|e| panic!("registry: {e}"));
    let chosen = herald_worker::runtime::run(cfg, registry, async {}).await;
    assert!(
        chosen.is_ok(),
        "unsigned delivery chosen explicitly: {chosen:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn webhooks_to_one_host_reuse_keep_alive_connections() {
    let db = TestDb::new().await;
    let receiver =
        herald_testkit::receiver::Receiver::start(herald_tests::workers::TEST_SIGNING_KEY)
            .await
            .unwrap_or_else(|e| panic!("receiver: {e}"));
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(enqueue_webhook(&db, receiver.url("ok")).await);
    }
    // Two slots: at most two requests in flight, so at most two connections are needed.
    let worker = webhook_worker(&db, &[("HERALD_QUEUES", "default=2")]).await;
    settled(&db.pool, &ids, SETTLE).await;
    worker.stop().await;

    for id in &ids {
        let rows = herald_tests::wait::trail(&db.pool, *id).await;
        assert_eq!(rows.len(), 1, "job {id}: {rows:?}");
        assert_eq!(rows[0].outcome, "succeeded", "job {id}");
    }
    let requests = receiver.received().get("ok").copied().unwrap_or(0);
    assert_eq!(requests, 12, "each webhook arrived once");
    let connections = receiver.connections();
    assert!(
        connections < requests,
        "{connections} connections for {requests} requests: keep-alive connections were not reused"
    );
}
