//! A seeded property test of the enqueue rules: generated inputs, ordinary and hostile
//! (infinite and out-of-range run times, numbers beyond their types, empty, long,
//! control-character and unicode names and keys, non-object and deep payloads), fed to
//! the Rust client and to `herald.enqueue()` on real PostgreSQL. Each must be refused
//! with one clear line by both, or stored by both and run; a worker serving every queue
//! that holds them keeps running a good job planted in each. The seed is printed on
//! failure; `HERALD_RULES_SEED=<seed>` replays it.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use herald_jobs::enqueue::{EnqueueError, NewJob, enqueue};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::{eventually, settled, state};
use herald_tests::workers::InProcessWorker;
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sqlx::PgPool;

use crate::enqueue_rules::{register_scripted, sql_enqueue};

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
