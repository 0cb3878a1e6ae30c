//! One set of enqueue rules (`herald_jobs::rules`) in Rust, the CLI and SQL: the
//! regression tests for values that used to poison the queue or got different answers
//! on different paths, replay granting the enqueued budget again, and a seeded property
//! test that feeds generated hostile inputs to the Rust client and to `herald.enqueue()`.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_jobs::enqueue::{EnqueueError, NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail};
use herald_tests::wait::{eventually, job_count, settled, state};
use herald_tests::workers::InProcessWorker;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::cli::herald;

/// Registers `test.scripted` the way a starting worker does (budget 3, queue default).
async fn register_scripted(pool: &PgPool) {
    sqlx::query("INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3) ON CONFLICT DO NOTHING")
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `herald.enqueue()` with every argument given: Ok(id) or Err((SQLSTATE, message)).
#[expect(clippy::too_many_arguments, reason = "one argument per SQL parameter")]
async fn sql_enqueue(
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
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
        let out = herald(Some(&db.url), &args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {stderr}");
        assert!(stderr.contains(expected), "{extra:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    }
    let over_cap = herald(
        Some(&db.url),
        &[&base[..], &["--max-attempts", "1001"]].concat(),
    );
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
    let out = herald(Some(&db.url), &["replay", &id.to_string()]);
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

// ---- the property test -------------------------------------------------------------

/// Ordinary queue names; a good job is planted in each.
const GOOD_QUEUES: [&str; 4] = [
    "default",
    "q.rules",
    "Q_1:x-y",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
];

/// A run time as the generator picks it; each side renders it as it can.
#[derive(Debug, Clone, Copy)]
enum When {
    Now,
    /// Seconds from now (past or future, always inside the allowed range).
    Offset(i64),
    At(DateTime<Utc>),
    Infinity,
    NegInfinity,
    /// PostgreSQL's last representable year.
    Year294276,
}

/// One generated enqueue.
#[derive(Debug, Clone)]
struct Input {
    job_type: String,
    queue: Option<String>,
    payload: Value,
    priority: i32,
    max_attempts: Option<i64>,
    run_at: When,
    key: Option<String>,
}

fn pick<T: Clone>(rng: &mut StdRng, items: &[T]) -> T {
    items
        .choose(rng)
        .cloned()
        .unwrap_or_else(|| panic!("empty choice"))
}

/// Hostile and ordinary strings: empty, long, control characters, escapes, unicode.
fn hostile_string(rng: &mut StdRng) -> String {
    let choices = [
        String::new(),
        " ".to_owned(),
        "a b".to_owned(),
        "line\nbreak".to_owned(),
        "\u{1b}[31mred\u{1b}[0m".to_owned(),
        "tab\there".to_owned(),
        "del\u{7f}".to_owned(),
        "c1\u{85}".to_owned(),
        "ключ🔑".to_owned(),
        "rtl\u{202e}txt".to_owned(),
        "x".repeat(255),
        "x".repeat(256),
        "y".repeat(9000),
        format!("k-{}", rng.random::<u32>()),
        "order:7".to_owned(),
    ];
    pick(rng, &choices)
}

fn deep_json(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!({ "d": [inner] }))
}

fn hostile_payload(rng: &mut StdRng, n: usize) -> Value {
    let key = format!("p{n}");
    let steps = if rng.random_bool(0.2) {
        json!([{ "do": "fail", "code": "NOT_FOUND", "message": "gone" }])
    } else {
        json!([{ "do": "succeed" }])
    };
    match rng.random_range(0..10) {
        0 => json!([1, 2, 3]),
        1 => json!("a string"),
        2 => Value::Null,
        3 => json!(42),
        4 => json!({ "key": key, "steps": steps, "deep": deep_json(300) }),
        5 => json!({ "key": key, "steps": steps, "n": [u64::MAX, i64::MIN, 1e300, -0.0] }),
        6 => json!({ "key": key, "steps": steps, "s": hostile_string(rng) }),
        7 => json!({ "key": key, "steps": steps, "big": "z".repeat(300 * 1024) }),
        8 => json!({ "unexpected": true }),
        _ => json!({ "key": "", "steps": [] }),
    }
}

/// One input: each field is ordinary, or (one time in five) drawn from its hostile edges,
/// so most inputs break at most a rule or two and enough of them run.
fn input(rng: &mut StdRng, n: usize) -> Input {
    let hostile = |rng: &mut StdRng| rng.random_bool(0.2);
    let job_type = if hostile(rng) {
        pick(
            rng,
            &[
                String::new(),
                "test scripted".to_owned(),
                "test.scripted\n".to_owned(),
                "t".repeat(129),
                "тест".to_owned(),
            ],
        )
    } else {
        "test.scripted".to_owned()
    };
    let queue = if hostile(rng) {
        Some(hostile_string(rng))
    } else if rng.random_bool(0.3) {
        None
    } else {
        Some(pick(rng, &GOOD_QUEUES).to_owned())
    };
    let priority = if hostile(rng) {
        pick(rng, &[32767, -32768, 32768, -32769, i32::MAX, i32::MIN])
    } else {
        rng.random_range(-10..10)
    };
    let max_attempts = if hostile(rng) {
        pick(
            rng,
            &[
                Some(1000),
                Some(0),
                Some(-1),
                Some(1001),
                Some(i64::from(i32::MAX)),
            ],
        )
    } else {
        pick(rng, &[None, Some(1), Some(3)])
    };
    let far = When::Offset(rng.random_range(60..7000 * 365 * 86_400));
    let run_at = if hostile(rng) {
        pick(
            rng,
            &[
                When::Infinity,
                When::NegInfinity,
                When::Year294276,
                When::At(DateTime::<Utc>::MAX_UTC),
                When::At(DateTime::UNIX_EPOCH - TimeDelta::seconds(1)),
                When::At(DateTime::UNIX_EPOCH),
                far,
            ],
        )
    } else if rng.random_bool(0.5) {
        When::Now
    } else {
        When::Offset(-rng.random_range(0..86_400))
    };
    let key = if hostile(rng) {
        Some(hostile_string(rng))
    } else {
        rng.random_bool(0.3).then(|| format!("key-{n}"))
    };
    let payload = if hostile(rng) {
        hostile_payload(rng, n)
    } else {
        json!({ "key": format!("p{n}"), "steps": [{ "do": "succeed" }] })
    };
    Input {
        job_type,
        queue,
        payload,
        priority,
        max_attempts,
        run_at,
        key,
    }
}

/// What a path answered: accepted (the job id) or refused with a clear message.
#[derive(Debug)]
enum Answer {
    Accepted(i64),
    Refused(String),
}

/// The Rust client's path. A value Rust's types cannot hold (a priority beyond `i16`,
/// a negative budget) is refused by the conversion every caller must make.
async fn via_rust(pool: &PgPool, input: &Input, now: DateTime<Utc>) -> Answer {
    let priority = match herald_jobs::rules::check_priority(i64::from(input.priority)) {
        Ok(p) => p,
        Err(v) => return Answer::Refused(v.to_string()),
    };
    let max_attempts = match input.max_attempts.map(u32::try_from) {
        None => 3,
        Some(Ok(n)) => n,
        Some(Err(_)) => return Answer::Refused("negative max_attempts".to_owned()),
    };
    let job = NewJob::from_json(
        &input.job_type,
        "default",
        max_attempts,
        input.payload.clone(),
    );
    let mut job = match job {
        Ok(job) => job.priority(priority),
        Err(e) => return refused(e),
    };
    if let Some(queue) = &input.queue {
        job = job.queue(queue.clone());
    }
    let run_at = match input.run_at {
        When::Now => None,
        When::Offset(secs) => Some(now + TimeDelta::seconds(secs)),
        When::At(at) => Some(at),
        When::Infinity | When::Year294276 => Some(DateTime::<Utc>::MAX_UTC),
        When::NegInfinity => Some(DateTime::<Utc>::MIN_UTC),
    };
    if let Some(at) = run_at {
        job = job.run_at(at);
    }
    if let Some(key) = &input.key {
        job = job.idempotency_key(key.clone());
    }
    match enqueue(pool, job).await {
        Ok(done) => Answer::Accepted(done.id),
        Err(e) => refused(e),
    }
}

fn refused(e: EnqueueError) -> Answer {
    match e {
        EnqueueError::Database(db) => panic!("a raw database error reached the caller: {db}"),
        other => Answer::Refused(other.to_string()),
    }
}

/// `at` as PostgreSQL reads it, also past year 9999 (chrono would prefix a `+`).
fn pg_time(at: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}+00",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// `herald.enqueue()`'s path: any refusal must carry a Herald SQLSTATE (HR001-HR004).
async fn via_sql(pool: &PgPool, input: &Input, now: DateTime<Utc>) -> Answer {
    let run_at = match input.run_at {
        When::Now => "now".to_owned(),
        When::Offset(secs) => (now + TimeDelta::seconds(secs)).to_rfc3339(),
        When::At(at) => pg_time(at),
        When::Infinity => "infinity".to_owned(),
        When::NegInfinity => "-infinity".to_owned(),
        When::Year294276 => "294276-12-31 23:59:59+00".to_owned(),
    };
    let max_attempts = input
        .max_attempts
        .map(|n| i32::try_from(n).unwrap_or_else(|_| panic!("generated {n}")));
    let got = sql_enqueue(
        pool,
        &input.job_type,
        &input.payload,
        Some(&run_at),
        input.priority,
        max_attempts,
        input.key.as_deref(),
        input.queue.as_deref(),
    )
    .await;
    match got {
        Ok(id) => Answer::Accepted(id),
        Err((code, message)) => {
            assert!(
                ["HR001", "HR002", "HR003", "HR004"].contains(&code.as_str())
                    && message.starts_with("herald.enqueue: "),
                "a raw database error reached the SQL caller: {code} {message}"
            );
            Answer::Refused(message)
        }
    }
}

#[tokio::test]
async fn generated_enqueue_inputs_are_refused_clearly_or_run_and_never_stop_a_queue() {
    const INPUTS: usize = 300;
    let seed: u64 = std::env::var("HERALD_RULES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let db = TestDb::new().await;
    register_scripted(&db.pool).await;
    let mut rng = StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let mut accepted = BTreeSet::new();
    for n in 0..INPUTS {
        let input = input(&mut rng, n);
        let rust = via_rust(&db.pool, &input, now).await;
        // Rust cannot hold infinity or year 294276: there its extremes stand in.
        let sql = via_sql(&db.pool, &input, now).await;
        match (&rust, &sql) {
            (Answer::Accepted(a), Answer::Accepted(b)) => {
                accepted.insert(*a);
                accepted.insert(*b);
            }
            (Answer::Refused(a), Answer::Refused(b)) => {
                for message in [a, b] {
                    assert!(
                        !message.is_empty() && !message.contains('\n'),
                        "seed {seed}: input {n}: not one clear line: {message:?}"
                    );
                }
            }
            _ => panic!(
                "seed {seed} (HERALD_RULES_SEED): Rust and SQL disagree on input {n} {input:?}: rust {rust:?}, sql {sql:?}"
            ),
        }
    }
    let accepted: Vec<i64> = accepted.into_iter().collect();
    assert!(
        accepted.len() > INPUTS / 10,
        "seed {seed}: only {} accepted; the generator is too hostile to test running",
        accepted.len()
    );
    // Every accepted row reads back as Rust times (nothing unconvertible was stored).
    let times: Vec<(i64, DateTime<Utc>)> =
        sqlx::query_as("SELECT id, run_at FROM herald.jobs WHERE id = ANY($1)")
            .bind(&accepted)
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: stored run times do not decode: {e}"));
    assert_eq!(times.len(), accepted.len(), "seed {seed}");
    // A good job planted behind them in every queue.
    let mut good = Vec::new();
    for queue in GOOD_QUEUES {
        let job = NewJob::new(&ScriptedJob::new(
            format!("good-{queue}"),
            vec![Step::Succeed],
        ))
        .unwrap_or_else(|e| panic!("{e}"))
        .queue(queue);
        good.push(
            enqueue(&db.pool, job)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .id,
        );
    }
    // The worker serves every queue an accepted job names (the rules make any of them a
    // name `HERALD_QUEUES` can hold).
    let names: Vec<String> = sqlx::query_scalar("SELECT DISTINCT queue FROM herald.jobs")
        .fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let queues = names
        .iter()
        .map(|q| format!("{q}=4"))
        .collect::<Vec<_>>()
        .join(",");
    let worker = InProcessWorker::start(&db, "w-rules", &[("HERALD_QUEUES", &queues)]).await;
    let due: Vec<i64> = times
        .iter()
        .filter(|(_, at)| *at <= Utc::now())
        .map(|(id, _)| *id)
        .chain(good.iter().copied())
        .collect();
    settled(&db.pool, &due, Duration::from_secs(20)).await;
    for id in &good {
        assert_eq!(state(&db.pool, *id).await, "succeeded", "seed {seed}");
    }
    // The worker is still claiming: one more job in each queue runs.
    let late = crate::enqueue_scripted(&db.pool, "late", vec![Step::Succeed], 1).await;
    eventually("the late job", Duration::from_secs(10), || async {
        (state(&db.pool, late).await == "succeeded").then_some(())
    })
    .await;
    worker.stop().await;
    db.finish().await;
}
