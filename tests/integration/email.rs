//! `notify.email` against a real SMTP server (the sink from `herald::demo`),
//! scripted by recipient: 250 succeeds once, 451 is retried with backoff and then
//! succeeds, 550 is dead after one attempt; audit rows and log levels match; the
//! message carries the job-derived `Message-ID` and the rendered template; a rate limit
//! slows a burst without failing it; a bad template folder stops the worker first;
//! pooled connections are reused, and one the relay closed while idle is replaced
//! without losing or repeating a message.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::notify::EmailJob;
use herald_testkit::smtp_sink::SmtpSink;
use herald_tests::db::TestDb;
use herald_tests::wait::{eventually, settled, trail};
use herald_tests::workers::InProcessWorker;
use herald_worker::WorkerConfig;
use herald_worker::runtime::default_registry;
use serde_json::{Value, json};
use tracing_subscriber::fmt::MakeWriter;

const SETTLE: Duration = Duration::from_secs(60);
const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/email");
const ID_DOMAIN: &str = "mail.herald.test";

fn smtp_env<'a>(port: &'a str, rate: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("HERALD_SMTP_HOST", "127.0.0.1"),
        ("HERALD_SMTP_PORT", port),
        ("HERALD_SMTP_TLS", "none"),
        ("HERALD_SMTP_TIMEOUT", "5s"),
        ("HERALD_EMAIL_FROM", "Herald Tests <herald@example.com>"),
        ("HERALD_EMAIL_MESSAGE_ID_DOMAIN", ID_DOMAIN),
        ("HERALD_EMAIL_TEMPLATES", TEMPLATES),
        ("HERALD_EMAIL_RATE_LIMIT", rate),
    ]
}

/// A worker running Herald's own registry (`notify.webhook` and `notify.email`).
async fn email_worker(db: &TestDb, port: u16, rate: &str) -> InProcessWorker {
    let port = port.to_string();
    let env = smtp_env(&port, rate);
    InProcessWorker::start_with_registry(db, "mailer", &env, |cfg: &WorkerConfig| {
        default_registry(cfg).unwrap_or_else(|e| panic!("registry: {e}"))
    })
    .await
}

async fn enqueue_email(db: &TestDb, to: &str, name: &str, max_attempts: u32) -> i64 {
    let job = EmailJob {
        to: to.to_owned(),
        template: "welcome".to_owned(),
        vars: json!({ "name": name, "product": "Herald", "link": "https://herald.example/in" }),
    };
    let job = NewJob::new(&job)
        .unwrap_or_else(|e| panic!("{e}"))
        .max_attempts(max_attempts);
    enqueue(&db.pool, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

/// Log events captured as JSON lines from everything this test's thread runs.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Logs {
    type Writer = Logs;
    fn make_writer(&'a self) -> Logs {
        self.clone()
    }
}

impl Logs {
    /// Captures DEBUG and above on this thread (tests run on a current-thread runtime,
    /// so the worker's tasks run here too) until the guard drops.
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(logs.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    fn text(&self) -> String {
        let bytes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn audit(&self, job: i64, level: &str) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["target"] == "herald::audit" && e["job.id"] == job && e["level"] == level)
            .collect()
    }
}

#[tokio::test]
async fn an_accepted_email_is_sent_once_with_the_job_derived_message_id_and_rendered_template() {
    let db = TestDb::new().await;
    let sink = SmtpSink::start().await.unwrap_or_else(|e| panic!("{e}"));
    let worker = email_worker(&db, sink.port(), "off").await;
    let id = enqueue_email(&db, "ann@example.com", "Ann", 3).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].outcome, "succeeded");
    let mail = sink.received();
    assert_eq!(mail.len(), 1);
    let mail = &mail[0];
    assert_eq!(mail.to, vec!["ann@example.com".to_owned()]);
    assert_eq!(mail.from, "herald@example.com");
    assert_eq!(
        mail.header("Message-ID"),
        Some(format!("<herald-job-{id}@{ID_DOMAIN}>"))
    );
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Welcome to Herald, Ann")
    );
    for rendered in [
        "Hello Ann,",
        "Your Herald account is ready.",
        "Sign in here: https://herald.example/in",
        "<p>Hello Ann,</p>",
        "multipart/alternative",
    ] {
        assert!(
            mail.data.contains(rendered),
            "{rendered:?} not in:\n{}",
            mail.data
        );
    }
    db.finish().await;
}

#[tokio::test]
async fn a_451_is_retried_with_backoff_and_a_550_is_dead_after_one_attempt() {
    let (logs, _guard) = Logs::capture();
    let db = TestDb::new().await;
    let sink = SmtpSink::start().await.unwrap_or_else(|e| panic!("{e}"));
    let worker = email_worker(&db, sink.port(), "off").await;
    let ok = enqueue_email(&db, "ann@example.com", "Ann", 5).await;
    let later = enqueue_email(&db, "bea+451@example.com", "Bea", 5).await;
    let unknown = enqueue_email(&db, "cid+550@example.com", "Cid", 5).await;
    let refused = enqueue_email(&db, "dee+554@example.com", "Dee", 5).await;
    settled(&db.pool, &[ok, later, unknown, refused], SETTLE).await;
    worker.stop().await;

    // 451: one retryable failure with a backoff, then delivered; the same message.
    let rows = trail(&db.pool, later).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0].outcome, "retrying");
    assert_eq!(rows[0].error_code.as_deref(), Some("UPSTREAM_UNAVAILABLE"));
    assert_eq!(rows[0].error_class.as_deref(), Some("retryable"));
    let next = rows[0]
        .next_run_at
        .unwrap_or_else(|| panic!("no next run time"));
    assert!(
        next > rows[0].finished_at,
        "a backoff is scheduled: {rows:?}"
    );
    assert!(
        rows[1].started_at >= next,
        "the retry waited for its backoff"
    );
    assert_eq!(rows[1].outcome, "succeeded");
    assert_eq!(sink.tries("bea+451@example.com"), 2);

    // 550 5.1.1: unknown mailbox, terminal at once; 554: rejected, terminal at once.
    for (id, address, code) in [
        (unknown, "cid+550@example.com", "NOT_FOUND"),
        (refused, "dee+554@example.com", "VALIDATION_ERROR"),
    ] {
        let rows = trail(&db.pool, id).await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].outcome, "dead");
        assert_eq!(rows[0].error_code.as_deref(), Some(code));
        assert_eq!(rows[0].error_class.as_deref(), Some("terminal"));
        assert_eq!(sink.tries(address), 1);
    }

    // Delivered: exactly the two accepted recipients, each once, with its own Message-ID.
    let mut delivered: Vec<(Vec<String>, Option<String>)> = sink
        .received()
        .into_iter()
        .map(|m| (m.to.clone(), m.header("Message-ID")))
        .collect();
    delivered.sort();
    assert_eq!(
        delivered,
        vec![
            (
                vec!["ann@example.com".into()],
                Some(format!("<herald-job-{ok}@{ID_DOMAIN}>"))
            ),
            (
                vec!["bea+451@example.com".into()],
                Some(format!("<herald-job-{later}@{ID_DOMAIN}>"))
            ),
        ]
    );

    // Log levels: WARN for the retry (never ERROR), ERROR for each dead job.
    let warn = logs.audit(later, "WARN");
    assert_eq!(warn.len(), 1, "one WARN for the 451");
    assert_eq!(warn[0]["error.code"], "UPSTREAM_UNAVAILABLE");
    assert!(logs.audit(later, "ERROR").is_empty());
    for id in [unknown, refused] {
        assert_eq!(logs.audit(id, "ERROR").len(), 1, "one ERROR for job {id}");
        assert!(logs.audit(id, "WARN").is_empty());
    }
    assert!(logs.audit(ok, "WARN").is_empty() && logs.audit(ok, "ERROR").is_empty());

    // The relay quoted the addresses; neither the log nor an audit row keeps them.
    let mut messages = Vec::new();
    for id in [later, unknown, refused] {
        messages.extend(
            trail(&db.pool, id)
                .await
                .into_iter()
                .filter_map(|r| r.message),
        );
    }
    let unknown_message = messages
        .iter()
        .find(|m| m.contains("5.1.1"))
        .unwrap_or_else(|| panic!("no 5.1.1 message in {messages:?}"));
    assert!(
        unknown_message.contains("***@example.com"),
        "{unknown_message}"
    );
    let log_text = logs.text();
    assert!(log_text.contains("5.1.1"), "the log records the reply");
    for local in ["ann", "bea+451", "cid+550", "dee+554"] {
        let address = format!("{local}@example.com");
        assert!(!log_text.contains(&address), "{address} in the log");
        assert!(
            messages.iter().all(|m| !m.contains(&address)),
            "{address} in an audit row"
        );
    }
    db.finish().await;
}

#[tokio::test]
async fn a_rejected_password_is_permission_denied_at_once_and_never_logged() {
    const PASSWORD: &str = "Sm7p-pa55word-do-not-log";
    let (logs, _guard) = Logs::capture();
    let db = TestDb::new().await;
    let sink = SmtpSink::start_rejecting_auth()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = sink.port().to_string();
    let mut env = smtp_env(&port, "off");
    env.extend([
        ("HERALD_SMTP_USERNAME", "mailer"),
        ("HERALD_SMTP_PASSWORD", PASSWORD),
    ]);
    let worker = InProcessWorker::start_with_registry(&db, "mailer", &env, |cfg| {
        default_registry(cfg).unwrap_or_else(|e| panic!("registry: {e}"))
    })
    .await;
    let id = enqueue_email(&db, "ann@example.com", "Ann", 5).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "a bad password is not retried: {rows:?}");
    assert_eq!(rows[0].outcome, "dead");
    assert_eq!(rows[0].error_code.as_deref(), Some("PERMISSION_DENIED"));
    assert_eq!(rows[0].error_class.as_deref(), Some("terminal"));
    assert_eq!(logs.audit(id, "ERROR").len(), 1, "one ERROR event");
    assert!(sink.received().is_empty());
    let text = logs.text();
    assert!(
        text.contains("worker starting"),
        "the start-up event was captured"
    );
    assert!(!text.contains(PASSWORD), "the password reached the log");
    assert!(
        !rows[0]
            .message
            .clone()
            .unwrap_or_default()
            .contains(PASSWORD)
    );
    db.finish().await;
}

#[tokio::test]
async fn a_refused_connection_is_retried_until_the_budget_ends() {
    let db = TestDb::new().await;
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let worker = email_worker(&db, port, "off").await;
    let id = enqueue_email(&db, "ann@example.com", "Ann", 2).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;

    let rows = trail(&db.pool, id).await;
    let seen: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.outcome.as_str(), r.error_code.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("retrying", Some("UPSTREAM_UNAVAILABLE")),
            ("dead", Some("UPSTREAM_UNAVAILABLE")),
        ]
    );
    db.finish().await;
}

#[tokio::test]
async fn a_relay_that_never_answers_is_a_retryable_timeout() {
    let db = TestDb::new().await;
    // Accepts connections and never sends its greeting.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("{e}"))
        .port()
        .to_string();
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mut env = smtp_env(&port, "off");
    env.push(("HERALD_SMTP_TIMEOUT", "1s"));
    let worker = InProcessWorker::start_with_registry(&db, "mailer", &env, |cfg| {
        default_registry(cfg).unwrap_or_else(|e| panic!("registry: {e}"))
    })
    .await;
    let id = enqueue_email(&db, "ann@example.com", "Ann", 2).await;
    settled(&db.pool, &[id], SETTLE).await;
    worker.stop().await;
    silent.abort();

    let rows = trail(&db.pool, id).await;
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = rows
        .iter()
        .map(|r| {
            (
                r.outcome.as_str(),
                r.error_code.as_deref(),
                r.error_class.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("retrying", Some("TIMEOUT"), Some("retryable")),
            ("dead", Some("TIMEOUT"), Some("retryable")),
        ]
    );
    db.finish().await;
}

#[tokio::test]
async fn a_rate_limit_makes_a_burst_wait_instead_of_failing() {
    let db = TestDb::new().await;
    let sink = SmtpSink::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut ids = Vec::new();
    for n in 0..50 {
        ids.push(enqueue_email(&db, &format!("user{n}@example.com"), "User", 1).await);
    }
    let started = Instant::now();
    let worker = email_worker(&db, sink.port(), "10").await;
    settled(&db.pool, &ids, SETTLE).await;
    let elapsed = started.elapsed();
    worker.stop().await;

    assert_eq!(sink.received().len(), 50);
    let failed: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.attempts WHERE job_id = ANY($1) AND outcome <> 'succeeded'",
    )
    .bind(&ids)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(failed, 0, "no email failed");
    let succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.jobs WHERE id = ANY($1) AND state = 'succeeded' AND attempt = 1",
    )
    .bind(&ids)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(succeeded, 50);
    assert!(
        elapsed >= Duration::from_millis(4_000),
        "50 emails at 10/s took only {elapsed:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_missing_or_invalid_template_folder_stops_the_worker_before_any_job_runs() {
    let db = TestDb::new().await;
    let id = enqueue_email(&db, "ann@example.com", "Ann", 3).await;
    let broken =
        std::env::temp_dir().join(format!("herald-broken-templates-{}", std::process::id()));
    std::fs::create_dir_all(&broken).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(broken.join("welcome.subject.txt"), "Hi").unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(broken.join("welcome.txt"), "Hello {{ name").unwrap_or_else(|e| panic!("{e}"));
    let broken_dir = broken.display().to_string();

    for (folder, expected) in [
        (
            "/nonexistent/herald/templates",
            "cannot read e-mail templates",
        ),
        (broken_dir.as_str(), "invalid e-mail template welcome.txt"),
    ] {
        let out = std::process::Command::new(crate::cli::herald_bin())
            .arg("worker")
            .env("DATABASE_URL", &db.url)
            .env("HERALD_LOG", "warn")
            .envs(smtp_env("2525", "off"))
            .env("HERALD_EMAIL_TEMPLATES", folder)
            .output()
            .unwrap_or_else(|e| panic!("run herald: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&broken);
    assert!(trail(&db.pool, id).await.is_empty(), "no attempt ran");
    db.finish().await;
}

#[tokio::test]
async fn pooled_smtp_connections_are_reused_and_one_the_relay_closed_is_replaced_without_loss() {
    let db = TestDb::new().await;
    let sink = SmtpSink::start_closing_idle_after(Duration::from_secs(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let port = sink.port().to_string();
    let mut env = smtp_env(&port, "off");
    // One slot: the messages go one after another, each able to reuse the last one's
    // connection.
    env.push(("HERALD_QUEUES", "default=1"));
    let worker = InProcessWorker::start_with_registry(&db, "mailer", &env, |cfg| {
        default_registry(cfg).unwrap_or_else(|e| panic!("registry: {e}"))
    })
    .await;
    let mut ids = Vec::new();
    for name in ["Ann", "Bob", "Cy"] {
        let to = format!("{}@example.com", name.to_lowercase());
        ids.push(enqueue_email(&db, &to, name, 3).await);
    }
    settled(&db.pool, &ids, SETTLE).await;
    let before_close = sink.connections();
    assert!(
        before_close < 3,
        "{before_close} connections for 3 messages sent one after another: the pool did not reuse"
    );
    // The relay's idle timeout closes the parked connection (421, then FIN).
    eventually(
        "the sink to close the idle pooled connection",
        SETTLE,
        || async { (sink.idle_closes() >= 1).then_some(()) },
    )
    .await;
    ids.push(enqueue_email(&db, "dee@example.com", "Dee", 3).await);
    settled(&db.pool, &ids, SETTLE).await;
    worker.stop().await;

    for id in &ids {
        let rows = trail(&db.pool, *id).await;
        assert_eq!(
            rows.len(),
            1,
            "job {id} needed exactly one attempt: {rows:?}"
        );
        assert_eq!(rows[0].outcome, "succeeded", "job {id}");
    }
    let mut sent: Vec<String> = sink
        .received()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    sent.sort();
    let mut expected: Vec<String> = ids
        .iter()
        .map(|id| format!("<herald-job-{id}@{ID_DOMAIN}>"))
        .collect();
    expected.sort();
    assert_eq!(sent, expected, "every message arrived exactly once");
    assert!(
        sink.connections() > before_close,
        "the message after the idle close went on a new connection"
    );
}
