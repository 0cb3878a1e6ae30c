//! `herald demo` serves the console with a login made for the run, and keeps serving
//! after its summary with `--keep-console` until SIGTERM (the real binary, real HTTP).

use std::process::Stdio;
use std::time::Duration;

use herald_tests::db::TestDb;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::cli::herald_bin;

/// (URL, username, password) from the demo's `console:` line.
fn login_line(line: &str) -> Option<(String, String, String)> {
    let rest = line.trim().strip_prefix("console: ")?;
    let (url, rest) = rest.split_once(" (log in as ")?;
    let (user, rest) = rest.split_once(" with password ")?;
    let (password, _) = rest.split_once(';')?;
    Some((url.to_owned(), user.to_owned(), password.to_owned()))
}

#[tokio::test]
async fn the_demo_serves_the_console_with_a_login_generated_for_the_run() {
    let db = TestDb::new().await;
    let mut child = Command::new(herald_bin())
        .args(["demo", "--jobs", "20", "--emails", "0", "--keep-console"])
        .env("DATABASE_URL", &db.url)
        .env("HERALD_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("herald demo: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut lines = BufReader::new(stdout).lines();
    let mut login = None;
    let mut kept = false;
    let read = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if login.is_none() {
                login = login_line(&line);
            }
            if line.contains("The console keeps serving") {
                kept = true;
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(180), read)
        .await
        .unwrap_or_else(|_| panic!("the demo did not finish its summary"));
    let (url, user, password) = login.unwrap_or_else(|| panic!("no console line"));
    assert!(kept, "the console is kept with --keep-console");
    assert!(
        user.starts_with("demo-") && password.len() >= 20,
        "{user} {password}"
    );
    // After the summary the console still answers, with the printed login.
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{url}api/v1/login"))
        .json(&serde_json::json!({"username": user, "password": password}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(response.status().as_u16(), 200);
    let wrong = http
        .post(format!("{url}api/v1/login"))
        .json(&serde_json::json!({"username": user, "password": "admin"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("login: {e}"));
    assert_eq!(wrong.status().as_u16(), 401);
    let pid = child.id().unwrap_or_else(|| panic!("no pid"));
    kill(Pid::from_raw(pid as i32), Signal::SIGTERM).unwrap_or_else(|e| panic!("{e}"));
    let status = tokio::time::timeout(Duration::from_secs(60), child.wait())
        .await
        .unwrap_or_else(|_| panic!("the demo did not stop on SIGTERM"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}");
    db.finish().await;
}
