//! The live stream over real HTTP: attempt outcomes and alert transitions from a real
//! worker arrive as server-sent events; a failure reaches the client as a generic
//! `error` event and the stream recovers; a client going away is cleaned up and the
//! poller stops; a client that never reads misses events (bounded) while another gets
//! every one.

use std::collections::BTreeMap;
use std::time::Duration;

use herald::console::stream::hub::{CHANNEL_CAPACITY, Item, MAX_ATTEMPTS_PER_POLL};
use herald_tests::jobs::{Step, fail};
use herald_tests::wait::eventually;
use herald_tests::workers::InProcessWorker;
use reqwest::Method;
use serde_json::Value;
use tokio::sync::mpsc;

use super::{Console, Login};
use crate::enqueue_scripted;

const WAIT: Duration = Duration::from_secs(60);

/// An open stream: its events as (name, data), in order.
struct Events {
    rx: mpsc::UnboundedReceiver<(String, Value)>,
    reader: tokio::task::JoinHandle<()>,
}

impl Events {
    /// Opens `GET /api/v1/stream` with `login` and reads it in the background; waits for
    /// its `ready` event.
    async fn open(console: &Console, login: &Login) -> Self {
        let mut response = console
            .with_session(Method::GET, "/api/v1/stream", login)
            .send()
            .await
            .unwrap_or_else(|e| panic!("stream: {e}"));
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(
            response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("text/event-stream")
        );
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let frame: String = buffer.drain(..end + 2).collect();
                    let mut name = String::from("message");
                    let mut data = String::new();
                    for line in frame.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            name = v.trim().to_owned();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push_str(v.trim_start());
                        }
                    }
                    if data.is_empty() {
                        continue; // a keep-alive comment
                    }
                    let value = serde_json::from_str(&data).unwrap_or(Value::String(data));
                    if tx.send((name, value)).is_err() {
                        return;
                    }
                }
            }
        });
        let mut events = Self { rx, reader };
        let (name, _) = events.next().await;
        assert_eq!(name, "ready");
        events
    }

    /// The next event (panics after [`WAIT`]).
    async fn next(&mut self) -> (String, Value) {
        tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no stream event within {WAIT:?}"))
            .unwrap_or_else(|| panic!("the stream ended"))
    }

    /// Reads until `done` says so over what was read; returns everything read.
    async fn until(&mut self, done: impl Fn(&[(String, Value)]) -> bool) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        while !done(&seen) {
            seen.push(self.next().await);
        }
        seen
    }

    /// Closes the connection (the client goes away).
    fn close(self) {
        self.reader.abort();
    }
}

/// Attempt events' outcomes by job id.
fn outcomes(events: &[(String, Value)]) -> BTreeMap<i64, Vec<String>> {
    let mut by_job: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (name, data) in events {
        if name == "attempt" {
            by_job
                .entry(data["job_id"].as_i64().unwrap_or_default())
                .or_default()
                .push(data["outcome"].as_str().unwrap_or_default().to_owned());
        }
    }
    by_job
}

#[tokio::test]
async fn the_stream_sends_each_attempt_outcome_and_alert_transition_as_it_happens() {
    let console = Console::start().await;
    let password = console.add_user("vera", "viewer").await;
    let login = console.login("vera", &password).await;
    let mut events = Events::open(&console, &login).await;
    let mut ok = Vec::new();
    let mut dead = Vec::new();
    for n in 0..4 {
        ok.push(
            enqueue_scripted(&console.db.pool, &format!("ok-{n}"), vec![Step::Succeed], 1).await,
        );
    }
    for n in 0..12 {
        dead.push(
            enqueue_scripted(
                &console.db.pool,
                &format!("dead-{n}"),
                vec![fail("NOT_FOUND")],
                1,
            )
            .await,
        );
    }
    let worker = InProcessWorker::start(
        &console.db,
        "stream-w1",
        &[
            ("HERALD_FAILURE_RATE_WINDOW", "3s"),
            ("HERALD_FAILURE_RATE_MIN_SAMPLES", "10"),
        ],
    )
    .await;
    let total = ok.len() + dead.len();
    let seen = events
        .until(|seen| {
            outcomes(seen).len() == total
                && seen
                    .iter()
                    .any(|(name, data)| name == "alert" && data["state"] == "tripped")
        })
        .await;
    // One more job, finished at least one poll later: any event sent twice would be
    // among what arrives before it.
    let sentinel = enqueue_scripted(&console.db.pool, "sentinel", vec![Step::Succeed], 1).await;
    let more = events
        .until(|more| outcomes(more).contains_key(&sentinel))
        .await;
    let seen: Vec<_> = seen.into_iter().chain(more).collect();
    let by_job = outcomes(&seen);
    for id in &ok {
        assert_eq!(by_job[id], ["succeeded"], "job {id}");
    }
    for id in &dead {
        assert_eq!(by_job[id], ["dead"], "job {id}");
    }
    let sample = seen
        .iter()
        .find(|(name, _)| name == "attempt")
        .map(|(_, data)| data.clone())
        .unwrap_or_default();
    assert_eq!(sample["type"], "test.scripted", "{sample}");
    assert_eq!(sample["queue"], "default", "{sample}");
    assert!(sample["at"].is_string(), "{sample}");
    let alert = seen
        .iter()
        .find(|(name, _)| name == "alert")
        .map(|(_, data)| data.clone())
        .unwrap_or_default();
    assert!(
        alert["failure_rate"].as_f64().unwrap_or_default() > 0.05,
        "{alert}"
    );
    assert_eq!(console.hub.stats().counts().opened, 1);
    worker.stop().await;
    events.close();
    console.finish().await;
}

#[tokio::test]
async fn a_stream_failure_reaches_the_client_as_a_generic_error_event_and_the_stream_recovers() {
    let console = Console::start().await;
    let password = console.add_user("vera", "viewer").await;
    let login = console.login("vera", &password).await;
    let mut events = Events::open(&console, &login).await;
    sqlx::raw_sql("ALTER TABLE herald.alert_events RENAME TO alert_events_gone")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = events
        .until(|seen| seen.iter().any(|(n, _)| n == "error"))
        .await;
    let (_, error) = seen
        .iter()
        .find(|(n, _)| n == "error")
        .cloned()
        .unwrap_or_default();
    assert_eq!(error["code"], "INTERNAL_ERROR", "{error}");
    let text = error.to_string();
    for leak in [
        "alert_events",
        "relation",
        "SELECT",
        "herald.",
        ".rs",
        "sqlx",
    ] {
        assert!(!text.contains(leak), "{leak} in {text}");
    }
    assert!(console.hub.stats().counts().errors >= 1);
    sqlx::raw_sql("ALTER TABLE herald.alert_events_gone RENAME TO alert_events")
        .execute(&console.db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let id = enqueue_scripted(&console.db.pool, "after", vec![Step::Succeed], 1).await;
    let worker = InProcessWorker::start(&console.db, "stream-w2", &[]).await;
    events.until(|seen| outcomes(seen).contains_key(&id)).await;
    worker.stop().await;
    events.close();
    console.finish().await;
}

#[tokio::test]
async fn a_client_going_away_is_cleaned_up_and_the_poller_stops_with_the_last_stream() {
    let console = Console::start().await;
    let password = console.add_user("vera", "viewer").await;
    let login = console.login("vera", &password).await;
    let first = Events::open(&console, &login).await;
    let second = Events::open(&console, &login).await;
    assert!(console.hub.is_polling());
    first.close();
    eventually("the first stream's cleanup", WAIT, || async {
        (console.hub.stats().counts().closed == 1).then_some(())
    })
    .await;
    assert!(console.hub.is_polling(), "one stream is still open");
    second.close();
    eventually("the poller to stop", WAIT, || async {
        let counts = console.hub.stats().counts();
        (counts.closed == 2 && !console.hub.is_polling()).then_some(())
    })
    .await;
    // A new stream starts it again.
    let third = Events::open(&console, &login).await;
    assert!(console.hub.is_polling());
    assert_eq!(console.hub.stats().counts().opened, 3);
    third.close();
    console.finish().await;
}

/// Inserts `n` attempt rows finished now, as the finisher writes them.
async fn finish_attempts(console: &Console, n: i64) {
    sqlx::query(
        "WITH j AS (
             INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at)
             SELECT 'test.scripted', 'default', '{}', 'succeeded', 1, 1, now() FROM generate_series(1, $1)
             RETURNING id, job_type, queue, finished_at)
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         SELECT id, job_type, queue, 1, 'seed', finished_at, finished_at, 1, 'succeeded', 'succeeded' FROM j",
    )
    .bind(n)
    .execute(&console.db.pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"));
}

#[tokio::test]
async fn a_client_that_never_reads_misses_events_while_another_gets_every_one() {
    let console = Console::start().await;
    let password = console.add_user("vera", "viewer").await;
    let login = console.login("vera", &password).await;
    let mut reading = Events::open(&console, &login).await;
    // A subscriber that never reads, as a stalled client is.
    let mut stalled = console
        .hub
        .subscribe()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rounds = CHANNEL_CAPACITY as i64 / MAX_ATTEMPTS_PER_POLL + 1;
    let mut expected = 0;
    for _ in 0..rounds {
        finish_attempts(&console, MAX_ATTEMPTS_PER_POLL).await;
        expected += MAX_ATTEMPTS_PER_POLL as usize;
        reading
            .until(|seen| {
                seen.iter().filter(|(n, _)| n == "attempt").count()
                    == MAX_ATTEMPTS_PER_POLL as usize
            })
            .await;
    }
    assert!(expected > CHANNEL_CAPACITY);
    match stalled.recv().await {
        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
            assert_eq!(missed as usize, expected - CHANNEL_CAPACITY);
        }
        Ok(Item::Event(..) | Item::Failed) => panic!("the stalled subscriber missed nothing"),
        Err(e) => panic!("{e}"),
    }
    reading.close();
    console.finish().await;
}
