//! Sentry reporting against a local HTTP endpoint that accepts Sentry envelopes (the
//! worker's DSN points at it): only dead jobs and handler panics become events, grouped
//! by Herald's fingerprint, tagged, with earlier failures as breadcrumbs and no secrets;
//! an unreachable Sentry never slows jobs. The workers are real processes, since
//! Sentry's client is global to a process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail};
use herald_tests::wait::{settled, trail};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use serde_json::Value;
use sqlx::PgPool;

use crate::process::WorkerProcess;

const SECRET: &str = "hunter2-planted";
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

type Received = Arc<Mutex<Vec<(String, String)>>>;

/// Starts a Sentry stand-in; returns its port and the (auth header, body) it received.
async fn sentry_endpoint() -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"))
        .port();
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/api/1/envelope/",
            post(
                |State(store): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    let auth = headers
                        .get("x-sentry-auth")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let body = String::from_utf8_lossy(&body).into_owned();
                    store
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((auth, body));
                    "{}"
                },
            ),
        )
        .with_state(Arc::clone(&received));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, received)
}

/// The `event` items of an envelope: a JSON header line, then per item a JSON header
/// line (`type`, optional `length` in bytes) and its payload.
fn events_in(envelope: &str) -> Vec<Value> {
    let mut rest = envelope
        .split_once('\n')
        .map(|(_, r)| r)
        .unwrap_or_default();
    let mut events = Vec::new();
    while let Some((header, after)) = rest.split_once('\n') {
        let header: Value =
            serde_json::from_str(header).unwrap_or_else(|e| panic!("item header {header}: {e}"));
        let (payload, next) = match header["length"].as_u64() {
            Some(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX).min(after.len());
                (
                    &after[..n],
                    after[n..].strip_prefix('\n').unwrap_or(&after[n..]),
                )
            }
            None => after.split_once('\n').unwrap_or((after, "")),
        };
        if header["type"] == "event" {
            events.push(
                serde_json::from_str(payload).unwrap_or_else(|e| panic!("event {payload}: {e}")),
            );
        }
        rest = next;
    }
    events
}

fn received_events(received: &Received) -> Vec<Value> {
    received
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .flat_map(|(_, body)| events_in(body))
        .collect()
}

async fn enqueue_job(pool: &PgPool, steps: Vec<Step>, max: u32, trace: Option<&str>) -> i64 {
    let mut job = NewJob::new(&ScriptedJob::new("sentry", steps))
        .unwrap_or_else(|e| panic!("build job: {e}"))
        .max_attempts(max);
    if let Some(trace) = trace {
        job = job.trace_context(format!("00-{trace}-00f067aa0ba902b7-01"));
    }
    enqueue(pool, job)
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"))
        .id
}

fn failing(code: &str, message: &str) -> Step {
    Step::Fail {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

fn event_of(events: &[Value], job_id: i64) -> Vec<&Value> {
    events
        .iter()
        .filter(|e| e["extra"]["job.id"] == job_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn only_dead_jobs_and_panics_reach_sentry_grouped_tagged_and_redacted() {
    let db = TestDb::new().await;
    let (port, received) = sentry_endpoint().await;
    let mut env = test_env(&db.url, "sentry-reporting");
    env.insert(
        "SENTRY_DSN".into(),
        format!("http://public@127.0.0.1:{port}/1"),
    );
    env.insert("SENTRY_ENVIRONMENT".into(), "integration".into());
    env.insert("SENTRY_RELEASE".into(), "herald@test".into());
    let mut worker = WorkerProcess::spawn(&env);

    let upstream = fail("UPSTREAM_UNAVAILABLE");
    let flaky = enqueue_job(
        &db.pool,
        vec![upstream.clone(), upstream, Step::Succeed],
        3,
        None,
    )
    .await;
    let terminal = enqueue_job(
        &db.pool,
        vec![failing(
            "NOT_FOUND",
            &format!("customer 17 missing; password={SECRET}"),
        )],
        3,
        Some(TRACE_ID),
    )
    .await;
    let exhausted = enqueue_job(
        &db.pool,
        vec![failing(
            "UPSTREAM_UNAVAILABLE",
            &format!("smtp down token={SECRET}"),
        )],
        3,
        None,
    )
    .await;
    let panicky = enqueue_job(
        &db.pool,
        vec![
            Step::Panic {
                message: format!("boom api_key={SECRET}"),
            },
            Step::Succeed,
        ],
        3,
        None,
    )
    .await;
    let ids = [flaky, terminal, exhausted, panicky];
    settled(&db.pool, &ids, Duration::from_secs(60)).await;
    // A graceful stop flushes the queue: after it, every event has arrived.
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(30)).success());

    let events = received_events(&received);
    assert_eq!(events.len(), 3, "events: {events:#?}");
    assert!(
        event_of(&events, flaky).is_empty(),
        "a job that succeeded after retries is not reported"
    );

    let [dead] = event_of(&events, terminal)[..] else {
        panic!("one event for the terminal job: {events:#?}")
    };
    let message = trail(&db.pool, terminal).await[0]
        .message
        .clone()
        .unwrap_or_default();
    let fingerprint =
        herald_worker::fingerprint::fingerprint("test.scripted", "NOT_FOUND", &message);
    assert_eq!(dead["fingerprint"], serde_json::json!([fingerprint]));
    let tags = &dead["tags"];
    for (tag, value) in [
        ("job.type", "test.scripted"),
        ("job.queue", "default"),
        ("job.attempt", "1"),
        ("error.code", "NOT_FOUND"),
        ("error.class", "terminal"),
        ("herald.fingerprint", fingerprint.as_str()),
        ("trace_id", TRACE_ID),
    ] {
        assert_eq!(tags[tag], value, "tag {tag} in {dead:#}");
    }
    assert_eq!(dead["contexts"]["trace"]["trace_id"], TRACE_ID);
    // `error` is the protocol's default level, which the SDK leaves out.
    assert!(
        matches!(dead["level"].as_str(), None | Some("error")),
        "{dead:#}"
    );
    assert_eq!(dead["environment"], "integration");
    assert_eq!(dead["release"], "herald@test");

    let [gave_up] = event_of(&events, exhausted)[..] else {
        panic!("one event for the exhausted job: {events:#?}")
    };
    assert_eq!(gave_up["tags"]["job.attempt"], "3");
    let crumbs = gave_up["breadcrumbs"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let attempts: Vec<&Value> = crumbs.iter().map(|c| &c["data"]["job.attempt"]).collect();
    assert_eq!(
        attempts,
        [1, 2],
        "earlier failures as breadcrumbs: {crumbs:#?}"
    );

    let [panicked] = event_of(&events, panicky)[..] else {
        panic!("one event for the panic: {events:#?}")
    };
    assert_eq!(panicked["tags"]["herald.report"], "panic");
    assert_eq!(panicked["tags"]["error.code"], "INTERNAL_ERROR");

    for (auth, body) in received.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        assert!(auth.contains("sentry_key=public"), "auth header: {auth}");
        assert!(!body.contains(SECRET), "a secret reached Sentry: {body}");
    }
    db.finish().await;
}

/// Runs `count` terminal jobs on a worker with `extra` env; returns how long they took
/// to settle and the worker's WARN events that mention Sentry.
async fn batch(
    db: &TestDb,
    name: &str,
    extra: &[(&str, String)],
    count: usize,
) -> (Duration, usize) {
    let mut env: HashMap<String, String> = test_env(&db.url, name);
    for (k, v) in extra {
        env.insert((*k).to_owned(), v.clone());
    }
    let mut worker = WorkerProcess::spawn(&env);
    worker.wait_started(Duration::from_secs(60));
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..count {
        ids.push(
            enqueue_job(
                &db.pool,
                vec![failing("NOT_FOUND", &format!("gone {i}"))],
                1,
                None,
            )
            .await,
        );
    }
    settled(&db.pool, &ids, Duration::from_secs(60)).await;
    let took = started.elapsed();
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(30)).success());
    let warns = worker
        .events()
        .iter()
        .filter(|e| {
            e["level"] == "WARN" && e["message"].as_str().unwrap_or_default().contains("Sentry")
        })
        .count();
    (took, warns)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_sentry_never_slows_jobs_and_warns_once() {
    let db = TestDb::new().await;
    let dead_port = {
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"))
            .port()
    };
    let (without, _) = batch(&db, "sentry-off", &[], 40).await;
    let dsn = [(
        "SENTRY_DSN",
        format!("http://public@127.0.0.1:{dead_port}/1"),
    )];
    let (with_dead, warns) = batch(&db, "sentry-down", &dsn, 40).await;
    assert_eq!(warns, 1, "one WARN while Sentry is down");
    // Loose on purpose: a slowed worker would wait on Sentry per event (seconds each).
    assert!(
        with_dead < without * 5 + Duration::from_secs(10),
        "with an unreachable Sentry: {with_dead:?}, without: {without:?}"
    );
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_configured_nth_retry_is_reported_once_as_a_warning() {
    let db = TestDb::new().await;
    let (port, received) = sentry_endpoint().await;
    let mut env = test_env(&db.url, "sentry-nth-retry");
    env.insert(
        "SENTRY_DSN".into(),
        format!("http://public@127.0.0.1:{port}/1"),
    );
    env.insert("HERALD_SENTRY_REPORT_RETRY".into(), "2".into());
    let mut worker = WorkerProcess::spawn(&env);
    let upstream = fail("UPSTREAM_UNAVAILABLE");
    let flaky = enqueue_job(
        &db.pool,
        vec![upstream.clone(), upstream.clone(), upstream, Step::Succeed],
        4,
        None,
    )
    .await;
    settled(&db.pool, &[flaky], Duration::from_secs(60)).await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(30)).success());

    let events = received_events(&received);
    let [second] = events.iter().collect::<Vec<_>>()[..] else {
        panic!("exactly one event, for attempt 2: {events:#?}")
    };
    assert_eq!(second["level"], "warning");
    assert_eq!(second["tags"]["job.attempt"], "2");
    assert_eq!(second["tags"]["herald.report"], "retry");
    assert_eq!(second["breadcrumbs"]["values"][0]["data"]["job.attempt"], 1);
    db.finish().await;
}
