//! Fleet-wide flow limits (`herald limits`), enforced by the claim statement across
//! worker processes: a rate limit on a webhook destination holds at the receiver, a cap
//! on running jobs is never exceeded, and a held job says why it waits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use herald_jobs::notify::WebhookJob;
use herald_jobs::{NewJob, enqueue_many};
use herald_tests::db::{TestDb, assert_every_attempt_audited_once};
use herald_tests::wait::settled;
use herald_tests::workers::test_env;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::cli::in_process;
use crate::process::WorkerProcess;

/// A webhook receiver that notes when each request arrived and how many were in
/// progress at once, answering 200 after `delay`.
#[derive(Default)]
struct Counter {
    arrivals: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
    delay: Duration,
}

async fn receive(State(c): State<Arc<Counter>>) -> &'static str {
    let now = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    c.most_in_flight.fetch_max(now, Ordering::SeqCst);
    c.arrivals
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .push(Instant::now());
    tokio::time::sleep(c.delay).await;
    c.in_flight.fetch_sub(1, Ordering::SeqCst);
    "ok"
}

/// Starts the receiver; returns its counter and `host:port` (the jobs' flow key).
async fn receiver(delay: Duration) -> (Arc<Counter>, String) {
    let counter = Arc::new(Counter {
        delay,
        ..Counter::default()
    });
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state(Arc::clone(&counter));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (counter, addr.to_string())
}

async fn herald_ok(db: &TestDb, args: &[&str]) -> String {
    let out = in_process(Some(&db.url), args).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "herald {args:?}: {}{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Enqueues `n` webhooks to `host`; returns their ids.
async fn webhooks(db: &TestDb, host: &str, n: usize) -> Vec<i64> {
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| {
            NewJob::new(&WebhookJob {
                url: format!("http://{host}/hook"),
                body: json!({ "n": i }),
            })
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    enqueue_many(&db.pool, jobs)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|e| e.id)
        .collect()
}

fn fleet(db: &TestDb, name: &str) -> Vec<WorkerProcess> {
    (1..=4)
        .map(|n| {
            let env = test_env(&db.url, &format!("{name}-{n}"));
            WorkerProcess::spawn(&env)
        })
        .collect()
}

/// While jobs wait, looks for a waiting job whose `jobs show` has a line starting
/// `prefix` (the hold is re-read each time: a rate limit's bucket fills and empties);
/// returns the first such line, or `None` once no job waits.
async fn held_line(db: &TestDb, prefix: &str) -> Option<String> {
    loop {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT max(id) FROM herald.jobs WHERE state IN ('pending', 'retrying')",
        )
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let shown = herald_ok(db, &["jobs", "show", &id?.to_string()]).await;
        if let Some(line) = shown.lines().find(|l| l.starts_with(prefix)) {
            return Some(line.to_owned());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for `ids` to settle while watching for a held line (see [`held_line`]).
async fn drain_watching(db: &TestDb, ids: &[i64], prefix: &str) -> Option<String> {
    let (held, ()) = tokio::join!(
        held_line(db, prefix),
        settled(&db.pool, ids, Duration::from_secs(120))
    );
    held
}

#[tokio::test]
async fn a_fleet_wide_rate_limit_holds_at_the_receiver_across_four_workers() {
    let db = TestDb::new().await;
    let (counter, host) = receiver(Duration::ZERO).await;
    let rate = 20.0;
    let out = herald_ok(
        &db,
        &[
            "limits",
            "set",
            &host,
            "--rate",
            "20",
            "--burst",
            "5",
            "--reason",
            "test quota",
        ],
    )
    .await;
    assert!(
        out.starts_with(&format!("limit {host}: rate 20/s (burst 5)")),
        "{out}"
    );
    let ids = webhooks(&db, &host, 260).await;
    let key: Option<String> = sqlx::query_scalar("SELECT flow_key FROM herald.jobs WHERE id = $1")
        .bind(ids[0])
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        key.as_deref(),
        Some(host.as_str()),
        "the webhook's flow key"
    );

    let workers = fleet(&db, "rate");
    let held = drain_watching(&db, &ids, "held: rate limit").await;
    drop(workers);

    // The rate over 200 requests, from the 41st on (the fleet has started and the
    // first burst is spent by then), measured by the receiver's own clock. A bucket of
    // 5 lets at most 5 more through over the window (2.5 %).
    let arrivals = counter
        .arrivals
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .clone();
    assert_eq!(arrivals.len(), 260, "every webhook was delivered once");
    let window = arrivals[240] - arrivals[40];
    let measured = 200.0 / window.as_secs_f64();
    eprintln!("measured {measured:.2} requests/s against a limit of {rate}/s");
    assert!(
        (rate * 0.9..=rate * 1.1).contains(&measured),
        "{measured:.2}/s is not within 10 % of {rate}/s"
    );
    let succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.jobs WHERE state = 'succeeded' AND attempt = 1",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(succeeded, 260, "no job was failed or retried for the limit");
    assert_eq!(held, Some(format!("held: rate limit {host} (20/s)")));
    assert_every_attempt_audited_once(&db.pool).await;
    let listed = herald_ok(&db, &["limits", "--json"]).await;
    let row: Value =
        serde_json::from_str(listed.trim()).unwrap_or_else(|e| panic!("{e}: {listed}"));
    assert_eq!(row["key"], host.as_str(), "{row}");
    assert_eq!(row["waiting"], 0, "{row}");
    db.finish().await;
}

#[tokio::test]
async fn a_fleet_wide_cap_is_never_exceeded_across_four_workers() {
    let db = TestDb::new().await;
    let (counter, host) = receiver(Duration::from_millis(150)).await;
    herald_ok(
        &db,
        &[
            "limits",
            "set",
            &host,
            "--max-running",
            "3",
            "--reason",
            "fair share",
            "--actor",
            "oncall",
        ],
    )
    .await;
    let ids = webhooks(&db, &host, 80).await;
    let workers = fleet(&db, "cap");
    let held = drain_watching(&db, &ids, "held: concurrency cap").await;
    drop(workers);

    let most = counter.most_in_flight.load(Ordering::SeqCst);
    eprintln!("at most {most} requests in flight under a cap of 3");
    assert!(
        most <= 3,
        "{most} requests were in flight at once under a cap of 3"
    );
    assert_eq!(
        counter
            .arrivals
            .lock()
            .unwrap_or_else(|e| panic!("{e}"))
            .len(),
        80
    );
    let held = held.unwrap_or_default();
    assert!(
        held.starts_with(&format!("held: concurrency cap {host} (")) && held.ends_with(", cap 3)"),
        "{held:?}"
    );
    // The count of running jobs under the cap went back to zero.
    let running: i32 = sqlx::query_scalar("SELECT running FROM herald.flow_limits WHERE key = $1")
        .bind(&host)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(running, 0);
    assert_every_attempt_audited_once(&db.pool).await;

    // Removing the limit is audited; removing it again changes nothing.
    let out = herald_ok(&db, &["limits", "remove", &host, "--reason", "lifted"]).await;
    assert!(
        out.starts_with(&format!("removed the limit of {host} (action ")),
        "{out}"
    );
    let again = herald_ok(&db, &["limits", "remove", &host, "--reason", "lifted"]).await;
    assert!(again.contains("has no limit: left alone"), "{again}");
    let audit = herald_ok(&db, &["audit", "--json"]).await;
    let actions: Vec<Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let kinds: Vec<&str> = actions
        .iter()
        .filter_map(|a| a["action"].as_str())
        .collect();
    assert!(
        kinds.contains(&"limit_set") && kinds.contains(&"limit_remove"),
        "{audit}"
    );
    db.finish().await;
}

#[tokio::test]
async fn bad_limits_are_refused_and_change_nothing() {
    let db = TestDb::new().await;
    let cases: [&[&str]; 6] = [
        &["limits", "set", "k", "--reason", "neither a rate nor a cap"],
        &["limits", "set", "k", "--rate", "0", "--reason", "r"],
        &["limits", "set", "k", "--rate", "NaN", "--reason", "r"],
        &["limits", "set", "k", "--max-running", "0", "--reason", "r"],
        &["limits", "set", "k", "--rate", "5", "--reason", "  "],
        &["limits", "set", "", "--rate", "5", "--reason", "r"],
    ];
    for args in cases {
        let out = in_process(Some(&db.url), args).await;
        assert_eq!(out.status.code(), Some(2), "herald {args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let limits: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.flow_limits")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let actions: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.operator_actions")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((limits, actions), (0, 0));
    db.finish().await;
}

async fn flow_key_of(db: &TestDb, id: i64) -> Option<String> {
    sqlx::query_scalar("SELECT flow_key FROM herald.jobs WHERE id = $1")
        .bind(id)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_webhooks_flow_key_is_its_host_from_rust_and_from_sql_and_a_callers_key_wins() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO herald.job_types (job_type, queue, max_attempts)
         VALUES ('notify.webhook', 'default', 5) ON CONFLICT DO NOTHING",
    )
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("https://Hooks.Example.com/a?b=c", "hooks.example.com"),
        ("http://user:secret@127.0.0.1:8080/x", "127.0.0.1:8080"),
        ("https://[::1]:9443/p#f", "[::1]:9443"),
    ];
    for (url, key) in cases {
        let job = WebhookJob {
            url: url.to_owned(),
            body: json!({}),
        };
        let new = NewJob::new(&job).unwrap_or_else(|e| panic!("{e}"));
        let from_rust = herald_jobs::enqueue(&db.pool, new)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .id;
        let from_sql: String = sqlx::query_scalar("SELECT herald.enqueue('notify.webhook', $1)")
            .bind(json!({ "url": url, "body": {} }))
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let from_sql: i64 = from_sql
            .parse()
            .unwrap_or_else(|e| panic!("{e}: {from_sql}"));
        assert_eq!(
            flow_key_of(&db, from_rust).await.as_deref(),
            Some(key),
            "{url}"
        );
        assert_eq!(
            flow_key_of(&db, from_sql).await.as_deref(),
            Some(key),
            "{url}"
        );
    }
    let own = NewJob::new(&WebhookJob {
        url: "https://hooks.example.com/t/7".to_owned(),
        body: json!({}),
    })
    .map(|j| j.flow_key("tenant-7"))
    .unwrap_or_else(|e| panic!("{e}"));
    let id = herald_jobs::enqueue(&db.pool, own)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    assert_eq!(flow_key_of(&db, id).await.as_deref(), Some("tenant-7"));
    db.finish().await;
}
