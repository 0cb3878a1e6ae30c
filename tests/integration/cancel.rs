//! Cancelling a running job (`herald cancel ID` on a running job): the request reaches the
//! worker process holding it by NOTIFY, the handler stops (the built-in webhook drops its
//! in-flight request), the attempt is audited `cancelled` naming the operator and reason,
//! and the job never runs again; a handler that ignores the signal is aborted after the
//! grace period; a job whose worker was SIGKILLed after the request still ends
//! `cancelled` through the rescue of its lease, never rerun.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::notify::WebhookJob;
use herald_tests::db::TestDb;
use herald_tests::jobs::BlockingJob;
use herald_tests::wait::{eventually, settled, state, trail};
use herald_tests::workers::{InProcessWorker, test_env};
use nix::sys::signal::Signal;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

use crate::cli::in_process;
use crate::effects;
use crate::process::WorkerProcess;

/// A webhook receiver that reads requests and never answers: each handler stays blocked
/// on it until the connection is dropped. Counts requests seen and connections the
/// client closed.
struct SilentReceiver {
    port: u16,
    requests: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
}

impl SilentReceiver {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let (requests, closed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (seen, ended) = (Arc::clone(&requests), Arc::clone(&closed));
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (seen, ended) = (Arc::clone(&seen), Arc::clone(&ended));
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 4096];
                    let mut counted = false;
                    loop {
                        match socket.read(&mut buffer).await {
                            Ok(0) | Err(_) => break,
                            Ok(_) if !counted => {
                                counted = true;
                                seen.fetch_add(1, Ordering::AcqRel);
                            }
                            Ok(_) => {}
                        }
                    }
                    ended.fetch_add(1, Ordering::AcqRel);
                });
            }
        });
        Self {
            port,
            requests,
            closed,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    fn requests(&self) -> u64 {
        self.requests.load(Ordering::Acquire)
    }

    fn closed(&self) -> u64 {
        self.closed.load(Ordering::Acquire)
    }
}

/// Runs `herald args…` in-process; returns stdout, asserting exit 0.
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

async fn enqueue_job(db: &TestDb, job: NewJob) -> i64 {
    enqueue(&db.pool, job.max_attempts(3))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

async fn enqueue_blocking(db: &TestDb, key: &str) -> i64 {
    let job = BlockingJob { key: key.into() };
    enqueue_job(db, NewJob::new(&job).unwrap_or_else(|e| panic!("{e}"))).await
}

#[tokio::test]
async fn a_running_webhook_is_cancelled_by_notification_audited_and_never_rerun() {
    let db = TestDb::new().await;
    let receiver = SilentReceiver::start().await;
    let job = WebhookJob {
        url: receiver.url(),
        body: json!({ "event": "cancel-me" }),
    };
    let id = enqueue_job(&db, NewJob::new(&job).unwrap_or_else(|e| panic!("{e}"))).await;
    // Leases and heartbeats far longer than the test: only the notification can bring
    // the cancel request to the worker in time; the webhook's own timeout (30 s) is
    // longer than the deadline below.
    let mut env = test_env(&db.url, "w-cancel");
    for (k, v) in [
        ("HERALD_LEASE", "1h"),
        ("HERALD_HEARTBEAT_INTERVAL", "30m"),
        ("HERALD_RESCUE_INTERVAL", "30m"),
        ("HERALD_WEBHOOK_TIMEOUT", "10m"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    let mut worker = WorkerProcess::spawn(&env);
    eventually(
        "the webhook to reach the receiver",
        Duration::from_secs(60),
        || async { (receiver.requests() == 1).then_some(()) },
    )
    .await;
    assert_eq!(state(&db.pool, id).await, "running");

    let out = herald_ok(
        &db,
        &[
            "cancel",
            &id.to_string(),
            "--reason",
            "sent to the wrong tenant",
            "--actor",
            "oncall",
        ],
    )
    .await;
    let asked = Instant::now();
    assert!(out.starts_with("cancelled 1 job (action "), "{out}");
    assert!(
        out.contains(&format!("job {id} was running: its worker stops it")),
        "{out}"
    );
    eventually(
        "the running job to end cancelled",
        Duration::from_secs(20),
        || async { (state(&db.pool, id).await == "cancelled").then_some(()) },
    )
    .await;
    eprintln!(
        "cancel of a running webhook: request committed to job cancelled in {} ms",
        asked.elapsed().as_millis()
    );
    eventually(
        "the in-flight request to be dropped",
        Duration::from_secs(20),
        || async { (receiver.closed() == 1).then_some(()) },
    )
    .await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].job_state.as_str(),
            rows[0].worker_id.as_str()
        ),
        ("cancelled", "cancelled", "w-cancel")
    );
    assert_eq!(
        rows[0].message.as_deref(),
        Some("cancelled by oncall: sent to the wrong tenant; the handler stopped")
    );
    assert_eq!(rows[0].error_code, None);
    let finished: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("SELECT finished_at FROM herald.jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(finished.is_some(), "a cancelled job has finished");
    let audit = herald_ok(&db, &["audit", "--action", "cancel", "--json"]).await;
    let action: Value = serde_json::from_str(audit.lines().next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {audit}"));
    assert_eq!(
        (&action["actor"], &action["reason"], &action["job_ids"]),
        (
            &json!("oncall"),
            &json!("sent to the wrong tenant"),
            &json!([id])
        ),
        "{action}"
    );
    let logged = worker.events().into_iter().any(|e| {
        e["message"] == "attempt cancelled by an operator; the job will not run again"
            && e["level"] == "INFO"
            && e["job.id"] == id
            && e["cancel.message"]
                == "cancelled by oncall: sent to the wrong tenant; the handler stopped"
    });
    assert!(logged, "{}", worker.logs().join("\n"));

    // The worker lives on and the job is never claimed again.
    worker.signal(Signal::SIGTERM);
    worker.wait(Duration::from_secs(30));
    assert_eq!(
        receiver.requests(),
        1,
        "the cancelled webhook was sent again"
    );
    assert_eq!(state(&db.pool, id).await, "cancelled");
    db.finish().await;
}

#[tokio::test]
async fn a_handler_that_ignores_the_signal_is_aborted_after_the_grace_period() {
    let db = TestDb::new().await;
    let id = enqueue_blocking(&db, "stubborn").await;
    let worker = InProcessWorker::start(
        &db,
        "w-grace",
        &[
            ("HERALD_LEASE", "1h"),
            ("HERALD_HEARTBEAT_INTERVAL", "30m"),
            ("HERALD_CANCEL_GRACE", "300ms"),
        ],
    )
    .await;
    eventually("the attempt to start", Duration::from_secs(30), || async {
        (effects(&db.pool, id, "start").await == 1).then_some(())
    })
    .await;
    herald_ok(&db, &["cancel", &id.to_string(), "--actor", "oncall"]).await;
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "cancelled");
    assert_eq!(
        rows[0].message.as_deref(),
        Some(
            "cancelled by oncall; the handler did not stop within the 300 ms grace period and was aborted"
        )
    );
    assert_eq!(state(&db.pool, id).await, "cancelled");
    assert_eq!(effects(&db.pool, id, "done").await, 0);
    db.finish().await;
}

#[tokio::test]
async fn a_cancelled_job_whose_worker_was_killed_ends_cancelled_not_rerun() {
    let db = TestDb::new().await;
    let id = enqueue_blocking(&db, "orphan").await;
    // No maintenance on the victim: frozen inside its partition transaction, it would
    // hold the audit table's lock (a frozen worker's single statements hold none).
    let mut env = test_env(&db.url, "victim");
    env.insert("HERALD_MAINTENANCE_ENABLED".to_owned(), "false".to_owned());
    let mut victim = WorkerProcess::spawn(&env);
    eventually("the attempt to start", Duration::from_secs(60), || async {
        (effects(&db.pool, id, "start").await == 1).then_some(())
    })
    .await;
    // Frozen, the victim cannot act on the request; then it dies holding the job.
    victim.signal(Signal::SIGSTOP);
    herald_ok(
        &db,
        &[
            "cancel",
            &id.to_string(),
            "--reason",
            "stuck",
            "--actor",
            "oncall",
        ],
    )
    .await;
    victim.kill_hard();
    assert_eq!(state(&db.pool, id).await, "running");

    let rescuer = InProcessWorker::start(&db, "rescuer", &[]).await;
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    rescuer.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (
            rows[0].outcome.as_str(),
            rows[0].job_state.as_str(),
            rows[0].worker_id.as_str()
        ),
        ("cancelled", "cancelled", "victim")
    );
    assert_eq!(
        rows[0].message.as_deref(),
        Some("cancelled by oncall: stuck; its worker was gone; ended by the rescue of its lease")
    );
    assert_eq!(state(&db.pool, id).await, "cancelled");
    assert_eq!(
        effects(&db.pool, id, "start").await,
        1,
        "a cancelled job is never run again"
    );
    db.finish().await;
}
