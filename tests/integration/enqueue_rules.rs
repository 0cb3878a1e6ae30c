//! One set of enqueue rules (`herald_jobs::rules`) in Rust, the CLI and SQL: the
//! regression tests for values that used to poison the queue or got different answers
//! on different paths, and replay granting the enqueued budget again. The property test
//! over generated inputs is `enqueue_property.rs`.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_jobs::enqueue::{EnqueueError, NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail};
use herald_tests::wait::{job_count, settled, state};
use herald_tests::workers::InProcessWorker;
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::cli::{in_process, text};

/// Registers `test.scripted` the way a starting worker does (budget 3, queue default).
pub(crate) async fn register_scripted(pool: &PgPool) {
    sqlx::query("INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3) ON CONFLICT DO NOTHING")
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `herald.enqueue()` with every argument given: Ok(id) or Err((SQLSTATE, message)).
#[expect(clippy::too_many_arguments, reason = "one argument per SQL parameter")]
pub(crate) async fn sql_enqueue(
    pool: &PgPool,
    job_type: &str,
    payload: &Value,
    run_at: Option<&str>,
    priority: i32,
    max_attempts: Option<i32>,
    key: Option<&str>,
    queue: Option<&str>,
) -> Result<i64, (String, String)> {
    let result: Result<String, sqlx::Error> = sqlx::query_scalar(
        "SELECT herald.enqueue($1, $2, run_at => $3::timestamptz, priority => $4, max_attempts => $5, idempotency_key => $6, queue => $7)",
    )
    .bind(job_type)
    .bind(payload)
    .bind(run_at)
    .bind(priority)
    .bind(max_attempts)
    .bind(key)
    .bind(queue)
    .fetch_one(pool)
    .await;
    match result {
        Ok(id) => Ok(id.parse().unwrap_or_else(|e| panic!("id {id:?}: {e}"))),
        Err(sqlx::Error::Database(db)) => Err((
            db.code().map(|c| c.into_owned()).unwrap_or_default(),
            db.message().to_owned(),
        )),
        Err(other) => panic!("herald.enqueue: not a database error: {other}"),
    }
}

fn scripted_payload(key: &str) -> Value {
    json!({ "key": key, "steps": [{ "do": "succeed" }] })
}

#[tokio::test]
async fn sql_refuses_infinite_and_out_of_range_run_times_with_hr004() {
    let db = TestDb::new().await;
    register_scripted(&db.pool).await;
    for run_at in [
        "infinity",
        "-infinity",
        "294276-12-31 23:59:59+00",
        "10000-01-01 00:00:00+00",
        "1969-12-31 23:59:59+00",
    ] {
        let got = sql_enqueue(
            &db.pool,
            "test.scripted",
            &scripted_payload("a"),
            Some(run_at),
            0,
            None,
            None,
            None,
        )
        .await;
        let (code, message) = got.err().unwrap_or_else(|| panic!("{run_at} was stored"));
        assert_eq!(code, "HR004", "{run_at}: {message}");
        assert_eq!(
            message,
            "herald.enqueue: invalid run_at: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z"
        );
    }
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn the_rust_client_refuses_run_times_past_9999_before_the_database() {
    let db = TestDb::new().await;
    let year_10000 = DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|t| t.with_timezone(&Utc) + TimeDelta::seconds(1))
        .unwrap_or_else(|e| panic!("{e}"));
    for at in [
        year_10000,
        DateTime::<Utc>::MAX_UTC,
        DateTime::<Utc>::MIN_UTC,
    ] {
        let job = NewJob::new(&ScriptedJob::new("far", vec![Step::Succeed]))
            .unwrap_or_else(|e| panic!("{e}"))
            .run_at(at);
        let err = enqueue(&db.pool, job).await.err();
        assert!(
            matches!(
                &err,
                Some(EnqueueError::InvalidOption {
                    option: "run_at",
                    ..
                })
            ),
            "{at}: {err:?}"
        );
    }
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn a_nul_in_a_payload_key_or_queue_is_refused_by_the_rust_client_not_the_database() {
    let db = TestDb::new().await;
    let base = || {
        NewJob::from_json(
            "test.scripted",
            "default",
            3,
            json!({ "key": "nul", "steps": [] }),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    };
    let nul_payload = NewJob::from_json(
        "test.scripted",
        "default",
        3,
        json!({ "key": "a\u{0}b", "steps": [] }),
    );
    assert!(
        matches!(
            &nul_payload,
            Err(EnqueueError::InvalidOption {
                option: "payload",
                ..
            })
        ),
        "{nul_payload:?}"
    );
    for (job, field) in [
        (base().idempotency_key("k\u{0}"), "idempotency_key"),
        (base().queue("q\u{0}"), "queue"),
    ] {
        let err = enqueue(&db.pool, job).await.err();
        assert!(
            matches!(&err, Some(EnqueueError::InvalidOption { option, .. }) if *option == field),
            "{field}: {err:?}"
        );
    }
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn sql_refuses_max_attempts_above_the_cap() {
    let db = TestDb::new().await;
    register_scripted(&db.pool).await;
    for budget in [1001, 1_000_000, i32::MAX] {
        let got = sql_enqueue(
            &db.pool,
            "test.scripted",
            &scripted_payload("a"),
            Some("now"),
            0,
            Some(budget),
            None,
            None,
        )
        .await;
        let (code, message) = got.err().unwrap_or_else(|| panic!("{budget} was stored"));
        assert_eq!(code, "HR004");
        assert_eq!(
            message,
            format!(
                "herald.enqueue: invalid max_attempts: must be between 1 and 1000, got {budget}"
            )
        );
    }
    let at_cap = sql_enqueue(
        &db.pool,
        "test.scripted",
        &scripted_payload("a"),
        Some("now"),
        0,
        Some(1000),
        None,
        None,
    )
    .await;
    assert!(at_cap.is_ok(), "{at_cap:?}");
    db.finish().await;
}

#[tokio::test]
async fn a_very_long_queue_name_is_refused_with_a_clear_error_not_a_notify_failure() {
    let db = TestDb::new().await;
    register_scripted(&db.pool).await;
    let long = "q".repeat(9000);
    let got = sql_enqueue(
        &db.pool,
        "test.scripted",
        &scripted_payload("a"),
        Some("now"),
        0,
        None,
        None,
        Some(&long),
    )
    .await;
    assert_eq!(
        got,
        Err((
            "HR004".to_owned(),
            "herald.enqueue: invalid queue: must be 1 to 64 bytes, got 9000".to_owned()
        ))
    );
    let job = NewJob::new(&ScriptedJob::new("long", vec![Step::Succeed]))
        .unwrap_or_else(|e| panic!("{e}"))
        .queue(long);
    let err = enqueue(&db.pool, job).await.err();
    assert!(
        matches!(&err, Some(EnqueueError::InvalidOption { option: "queue", message }) if message == "must be 1 to 64 bytes, got 9000"),
        "{err:?}"
    );
    // A raw insert cannot store it either (the table's own CHECK).
    let raw = sqlx::query(
        "INSERT INTO herald.jobs (job_type, queue, payload) VALUES ('test.scripted', repeat('q', 65), '{}')",
    )
    .execute(&db.pool)
    .await;
    let constraint = raw.err().and_then(|e| {
        e.as_database_error()
            .and_then(|d| d.constraint().map(str::to_owned))
    });
    assert_eq!(constraint.as_deref(), Some("jobs_enqueued_queue_name"));
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn an_empty_queue_or_key_from_the_cli_is_a_usage_error_with_one_clear_message() {
    let db = TestDb::new().await;
    let payload = r#"{"url":"https://hooks.example.com/orders","body":{"id":1}}"#;
    let base = ["enqueue", "notify.webhook", "--payload", payload];
    let cases: [(&[&str], &str); 5] = [
        (
            &["--queue", ""],
            "--queue is invalid: must be 1 to 64 bytes, got 0",
        ),
        (&["--queue", "a b"], "--queue is invalid: may contain only"),
        (
            &["--idempotency-key", ""],
            "--idempotency-key is invalid: must be 1 to 255 bytes, got 0",
        ),
        (
            &["--idempotency-key", "a\nb"],
            "--idempotency-key is invalid: must not contain control characters",
        ),
        (
            &["--run-at", "0001-01-01T00:00:00Z"],
            "--run-at is invalid: must be between 1970-01-01T00:00:00Z and 9999-12-31T23:59:59Z",
        ),
    ];
    for (extra, expected) in cases {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = in_process(Some(&db.url), &args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
    let over_cap = in_process(
        Some(&db.url),
        &[&base[..], &["--max-attempts", "1001"]].concat(),
    )
    .await;
    assert_eq!(
        over_cap.status.code(),
        Some(2),
        "{}",
        text(&over_cap.stderr)
    );
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn a_replayed_job_gets_the_budget_it_was_enqueued_with_again() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    // Budget 2 (the type's is 3); a terminal failure ends it on attempt 1.
    let id = crate::enqueue_scripted(&db.pool, "replayed", vec![fail("NOT_FOUND")], 2).await;
    settled(&db.pool, &[id], Duration::from_secs(10)).await;
    assert_eq!(state(&db.pool, id).await, "dead");
    worker.stop().await;
    let out = in_process(Some(&db.url), &["replay", &id.to_string()]).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (attempt, max_attempts): (i32, i32) =
        sqlx::query_as("SELECT attempt, max_attempts FROM herald.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((attempt, max_attempts), (1, 1 + 2));
    db.finish().await;
}
