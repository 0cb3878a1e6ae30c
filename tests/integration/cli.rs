//! Running `herald`: in-process ([`in_process`], [`ok`]: the command with a
//! [`Context`] on this process' environment, output captured) for the operator tests,
//! and as the real binary ([`herald`]) where the process matters: exit codes of
//! `main.rs` (a missing or unreachable database, an unknown command, telemetry
//! settings), the worker, signals, a terminal, stdin, a closed pipe.
//!
//! The tests here: enqueue and migrate in-process, and the process' exit codes.

use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Output};

use herald::cli::Context;

use herald_tests::db::TestDb;
use herald_tests::wait::job_count;

/// The `herald` binary built beside this test binary (`cargo build --bins` first).
pub fn herald_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("herald"))
        .unwrap_or_else(|| panic!("no target dir"));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace --bins` first",
        bin.display()
    );
    bin
}

/// Runs `herald args…` with `DATABASE_URL` (or without it, when `None`).
pub fn herald(database_url: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(herald_bin());
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env("HERALD_LOG", "warn");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("run herald: {e}"))
}

/// Runs `herald args…` in this process, as [`herald`] runs the binary: this process'
/// environment with `DATABASE_URL` replaced (unset when `None`), stdin empty and not a
/// terminal. Returns what the process would: exit status, stdout, stderr.
///
/// A debug-build TLS handshake costs ~100 ms a connection, and sqlx's default `sslmode`
/// (`prefer`) takes TLS wherever the server offers it (this machine's shared server does).
/// A well-formed URL without an `sslmode` therefore gets `sslmode=disable` here; TLS
/// itself is tested with the real binary by `tls::*`.
pub async fn in_process(database_url: Option<&str>, args: &[&str]) -> Output {
    in_process_with(database_url, &[], args).await
}

/// [`in_process`] with the variables `vars` set too.
pub async fn in_process_with(
    database_url: Option<&str>,
    vars: &[(&str, &str)],
    args: &[&str],
) -> Output {
    let url = database_url.map(plain_tcp);
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect();
    let env = move |name: &str| match vars.iter().find(|(n, _)| n == name) {
        Some((_, value)) => Some(value.clone()),
        None if name == "DATABASE_URL" => url.clone(),
        None => std::env::var(name).ok(),
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let mut ctx = Context::new(env, &mut stdout, &mut stderr);
    let argv = std::iter::once("herald").chain(args.iter().copied());
    let code = herald::cli::main(argv, &mut ctx).await;
    drop(ctx);
    Output {
        // A wait status: the exit code in the second byte.
        status: ExitStatus::from_raw(i32::from(code) << 8),
        stdout,
        stderr,
    }
}

/// `url` with `sslmode=disable` when it is a well-formed URL that names no `sslmode`
/// (see [`in_process`]); any other text unchanged, so malformed URLs stay as written.
fn plain_tcp(url: &str) -> String {
    let well_formed =
        url.starts_with("postgres://") && url.parse::<sqlx::postgres::PgConnectOptions>().is_ok();
    if !well_formed || url.contains("sslmode=") {
        return url.to_owned();
    }
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}sslmode=disable")
}

/// Runs `command` with `input` on its stdin and stdout/stderr captured; panics with
/// `what` when it cannot be started.
pub fn run_with_stdin(command: &mut Command, input: &str, what: &str) -> Output {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .unwrap_or_else(|e| panic!("write to {what}: {e}"));
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Standard output or error of a run as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `herald args…` in-process against `db`, asserts success, returns stdout.
pub async fn ok(db: &TestDb, args: &[&str]) -> String {
    let out = in_process(Some(&db.url), args).await;
    assert!(
        out.status.success(),
        "herald {args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// One JSON value per line of `stdout` (the CLI's `--json` output).
pub fn json_lines(stdout: &str) -> Vec<serde_json::Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test]
async fn migrate_is_idempotent() {
    let db = TestDb::new().await;
    for _ in 0..2 {
        let out = in_process(Some(&db.url), &["migrate"]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "migrations applied\n");
    }
    db.finish().await;
}

#[tokio::test]
async fn enqueue_prints_the_new_job_id() {
    let db = TestDb::new().await;
    let payload = r#"{"url":"https://hooks.example.com/orders","body":{"id":1}}"#;
    let out = in_process(
        Some(&db.url),
        &[
            "enqueue",
            "notify.webhook",
            "--payload",
            payload,
            "--delay",
            "1h",
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let id: i64 = sqlx::query_scalar("SELECT id FROM herald.jobs")
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text(&out.stdout), format!("enqueued job {id}\n"));
    db.finish().await;
}

#[tokio::test]
async fn bad_enqueues_fail_with_one_line_and_change_nothing() {
    let db = TestDb::new().await;
    let cases: [(&[&str], i32, &str); 5] = [
        (
            &[
                "enqueue",
                "notify.webhook",
                "--payload",
                r#"{"url":"ftp://x","body":{}}"#,
            ],
            1,
            "payload rejected: invalid url",
        ),
        (
            &["enqueue", "notify.webhook", "--payload", r#"{"body":{}}"#],
            1,
            "payload rejected: invalid payload",
        ),
        (
            &["enqueue", "notify.webhook", "--payload", "{not json"],
            2,
            "--payload is not valid JSON",
        ),
        (
            &["enqueue", "no.such.type", "--payload", "{}"],
            1,
            "unknown job type",
        ),
        (
            &[
                "enqueue",
                "notify.webhook",
                "--payload",
                "{}",
                "--delay",
                "soon",
            ],
            2,
            "not a duration",
        ),
    ];
    for (args, code, expected) in cases {
        let out = in_process(Some(&db.url), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("SELECT") && !stderr.contains("panicked"),
            "{stderr}"
        );
    }
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[tokio::test]
async fn enqueue_rejects_a_payload_over_the_configured_limit() {
    let db = TestDb::new().await;
    let payload = r#"{"url":"https://hooks.example.com/orders","body":{"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}}"#;
    let out = in_process_with(
        Some(&db.url),
        &[("HERALD_MAX_PAYLOAD_BYTES", "64")],
        &["enqueue", "notify.webhook", "--payload", payload],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("payload rejected: payload is 100 bytes, over the limit of 64 bytes"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(job_count(&db.pool).await, 0);
    db.finish().await;
}

#[test]
fn a_missing_or_unreachable_database_is_a_clear_error() {
    let out = herald(None, &["migrate"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).trim(), "herald: DATABASE_URL is not set");

    let out = herald(
        Some("postgres://herald:secret-pw@127.0.0.1:1/herald"),
        &["migrate"],
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("herald: cannot connect to the database"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("secret-pw"), "{stderr}");
}

#[test]
fn unknown_commands_are_usage_errors() {
    let out = herald(None, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_metrics_and_otlp_settings_are_usage_errors() {
    let out = herald(
        Some("postgres://nobody@127.0.0.1:1/x"),
        &["worker", "--metrics-addr", "nope"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--metrics-addr"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(herald_bin())
        .args(["stats"])
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "udp")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL"), "{stderr}");
}
