//! Traces over OTLP: a real worker process exports its attempt spans to a real OTLP/gRPC
//! receiver started in the test; every attempt joins the enqueuer's trace.

use std::collections::HashMap;
use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail};
use herald_tests::otlp::{OtlpReceiver, ReceivedSpan};
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::test_env;
use nix::sys::signal::Signal;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_proto::tonic::trace::v1::status::StatusCode;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

/// Builds `steps` as a job inside a span of a locally installed OpenTelemetry
/// subscriber, the way a service's request handler would: returns the job, the trace id
/// and the span id of that "request" span.
fn job_enqueued_in_a_request(key: &str, steps: Vec<Step>) -> (NewJob, String, String) {
    let provider = SdkTracerProvider::builder().build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test-service")));
    tracing::subscriber::with_default(subscriber, || {
        let request = tracing::info_span!("POST /orders");
        let _entered = request.enter();
        let job = NewJob::new(&ScriptedJob::new(key, steps))
            .unwrap_or_else(|e| panic!("build job: {e}"))
            .max_attempts(3)
            .with_current_trace();
        let traceparent = herald_jobs::enqueue::current_traceparent()
            .unwrap_or_else(|| panic!("the request span has a trace context"));
        let parts: Vec<&str> = traceparent.split('-').collect();
        (job, parts[1].to_owned(), parts[2].to_owned())
    })
}

fn spans_of(spans: &[ReceivedSpan], job: i64) -> Vec<ReceivedSpan> {
    let mut of: Vec<ReceivedSpan> = spans
        .iter()
        .filter(|s| s.attr("messaging.message.id") == Some(job.to_string()))
        .cloned()
        .collect();
    of.sort_by_key(|s| s.attr("herald.attempt"));
    of
}

fn status(span: &ReceivedSpan) -> i32 {
    span.span.status.as_ref().map(|s| s.code).unwrap_or(0)
}

#[tokio::test]
async fn every_attempt_is_one_span_in_the_enqueuers_trace() {
    let db = TestDb::new().await;
    let receiver = OtlpReceiver::start().await;
    let mut ids = HashMap::new();
    let mut traces = HashMap::new();
    for (name, steps) in [
        ("succeeds", vec![Step::Succeed]),
        ("retries", vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed]),
        ("dies", vec![fail("NOT_FOUND")]),
    ] {
        let (job, trace, parent) = job_enqueued_in_a_request(name, steps);
        let id = enqueue(&db.pool, job)
            .await
            .unwrap_or_else(|e| panic!("enqueue: {e}"))
            .id;
        ids.insert(name, id);
        traces.insert(id, (trace, parent));
    }
    let untraced = enqueue_scripted(&db.pool, "untraced", vec![Step::Succeed], 1).await;
    let mut env = test_env(&db.url, "traced");
    env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), receiver.endpoint());
    env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    env.insert("OTEL_SERVICE_NAME".into(), "herald-under-test".into());
    env.insert(
        "OTEL_RESOURCE_ATTRIBUTES".into(),
        "deployment.environment=test".into(),
    );
    let mut worker = WorkerProcess::spawn(&env);
    let mut all: Vec<i64> = ids.values().copied().collect();
    all.push(untraced);
    settled(&db.pool, &all, Duration::from_secs(30)).await;
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.attempts")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attempts, 5);
    eventually("a span per attempt", Duration::from_secs(20), || async {
        (receiver.spans().len() >= 5).then_some(())
    })
    .await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());
    let spans = receiver.spans();
    assert_eq!(spans.len(), 5, "exactly one span per attempt: {spans:#?}");

    // A job enqueued outside any trace starts its own; its audit row names it.
    let root = spans_of(&spans, untraced);
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].parent_span_id(), "", "a root span");
    let audited: Option<String> =
        sqlx::query_scalar("SELECT trace_id FROM herald.attempts WHERE job_id = $1")
            .bind(untraced)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audited, Some(root[0].trace_id()));

    let traced = spans
        .iter()
        .filter(|s| s.attr("messaging.message.id") != Some(untraced.to_string()));
    for span in traced {
        let id: i64 = span
            .attr("messaging.message.id")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("messaging.message.id on {span:?}"));
        let (trace, parent) = &traces[&id];
        assert_eq!(
            &span.trace_id(),
            trace,
            "the attempt joins the enqueuer's trace"
        );
        assert_eq!(&span.parent_span_id(), parent, "child of the request span");
        assert_eq!(span.span.name, "process default");
        assert_eq!(span.span.kind, 5, "SPAN_KIND_CONSUMER");
        assert_eq!(span.attr("messaging.system").as_deref(), Some("herald"));
        assert_eq!(span.attr("messaging.operation").as_deref(), Some("process"));
        assert_eq!(
            span.attr("messaging.destination.name").as_deref(),
            Some("default")
        );
        assert_eq!(
            span.attr("herald.job.type").as_deref(),
            Some("test.scripted")
        );
        assert_eq!(
            span.resource.get("service.name").map(String::as_str),
            Some("herald-under-test")
        );
        assert_eq!(
            span.resource
                .get("deployment.environment")
                .map(String::as_str),
            Some("test")
        );
        let audited: Option<String> = sqlx::query_scalar(
            "SELECT trace_id FROM herald.attempts WHERE job_id = $1 AND attempt = $2",
        )
        .bind(id)
        .bind(
            span.attr("herald.attempt")
                .and_then(|a| a.parse::<i32>().ok()),
        )
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            audited.as_ref(),
            Some(trace),
            "the audit row names the trace"
        );
    }

    let ok = spans_of(&spans, ids["succeeds"]);
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].attr("herald.outcome").as_deref(), Some("succeeded"));
    assert_eq!(ok[0].attr("error.type"), None);
    assert_ne!(status(&ok[0]), StatusCode::Error as i32);

    let retried = spans_of(&spans, ids["retries"]);
    assert_eq!(retried.len(), 2);
    assert_eq!(retried[0].attr("herald.attempt").as_deref(), Some("1"));
    assert_eq!(
        retried[0].attr("herald.outcome").as_deref(),
        Some("retrying")
    );
    assert_eq!(
        retried[0].attr("error.type").as_deref(),
        Some("UPSTREAM_UNAVAILABLE")
    );
    assert_eq!(status(&retried[0]), StatusCode::Error as i32);
    let retry_event = retried[0]
        .span
        .events
        .iter()
        .find(|e| e.name == "retry scheduled")
        .unwrap_or_else(|| panic!("retry event on {:?}", retried[0].span.events));
    assert!(
        retry_event
            .attributes
            .iter()
            .any(|kv| kv.key == "herald.next_run_at"),
        "{retry_event:?}"
    );
    assert_eq!(
        retried[1].attr("herald.outcome").as_deref(),
        Some("succeeded")
    );

    let dead = spans_of(&spans, ids["dies"]);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attr("herald.outcome").as_deref(), Some("dead"));
    assert_eq!(dead[0].attr("error.type").as_deref(), Some("NOT_FOUND"));
    assert_eq!(status(&dead[0]), StatusCode::Error as i32);
    db.finish().await;
}

#[tokio::test]
async fn a_collector_that_is_down_is_reported_once_and_jobs_still_run() {
    let db = TestDb::new().await;
    // A port nobody listens on: bind, note it, close it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    for i in 0..12 {
        let (job, _, _) =
            job_enqueued_in_a_request(&format!("job-{i}"), vec![Step::Sleep { ms: 150 }]);
        ids.push(
            enqueue(&db.pool, job)
                .await
                .unwrap_or_else(|e| panic!("enqueue: {e}"))
                .id,
        );
    }
    let mut env = test_env(&db.url, "no-collector");
    env.insert("HERALD_QUEUES".into(), "default=2".into());
    env.insert(
        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        format!("http://{closed}"),
    );
    env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    env.insert("OTEL_EXPORTER_OTLP_TIMEOUT".into(), "500".into());
    let mut worker = WorkerProcess::spawn(&env);
    settled(&db.pool, &ids, Duration::from_secs(30)).await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(30)).success());
    let succeeded: i64 =
        sqlx::query_scalar("SELECT count(*) FROM herald.attempts WHERE outcome = 'succeeded'")
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(succeeded, 12, "every job ran");
    let events = worker.events();
    let warnings: Vec<_> = events
        .iter()
        .filter(|e| {
            e["level"] == "WARN"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("cannot export traces"))
        })
        .collect();
    assert_eq!(warnings.len(), 1, "reported once: {warnings:#?}");
    db.finish().await;
}

#[tokio::test]
async fn spans_can_be_exported_over_http_protobuf() {
    let db = TestDb::new().await;
    let receiver = OtlpReceiver::start_http().await;
    let (job, trace, _) = job_enqueued_in_a_request("over-http", vec![Step::Succeed]);
    let id = enqueue(&db.pool, job)
        .await
        .unwrap_or_else(|e| panic!("enqueue: {e}"))
        .id;
    let mut env = test_env(&db.url, "traced-over-http");
    env.insert("OTEL_EXPORTER_OTLP_ENDPOINT".into(), receiver.endpoint());
    env.insert("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into());
    env.insert("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into());
    let mut worker = WorkerProcess::spawn(&env);
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    eventually("the span over HTTP", Duration::from_secs(20), || async {
        (!receiver.spans().is_empty()).then_some(())
    })
    .await;
    worker.signal(Signal::SIGTERM);
    assert!(worker.wait(Duration::from_secs(20)).success());
    let spans = spans_of(&receiver.spans(), id);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].trace_id(), trace);
    assert_eq!(
        spans[0].attr("herald.outcome").as_deref(),
        Some("succeeded")
    );
    db.finish().await;
}
