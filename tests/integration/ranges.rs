//! Durations and rates on the command line are range-checked when parsed: a value too
//! large is a usage error (exit 2) that names the range, never a panic, and never a job
//! silently enqueued to run now.

use herald_tests::db::TestDb;
use herald_tests::wait::job_count;

use crate::cli::in_process;

#[tokio::test]
async fn huge_durations_and_rates_on_the_command_line_are_usage_errors() {
    let db = TestDb::new().await;
    let payload = r#"{"url":"https://hooks.example.com/orders","body":{"id":1}}"#;
    let enqueue = |delay: &'static str| {
        vec![
            "enqueue",
            "notify.webhook",
            "--payload",
            payload,
            "--delay",
            delay,
        ]
    };
    let cases: Vec<Vec<&str>> = vec![
        enqueue("99999999999999999999999"),
        enqueue("10000000000d"),
        enqueue("3651d"),
        vec!["jobs", "list", "--since", "99999999999999999999999"],
        vec!["jobs", "list", "--until", "36501d"],
        vec!["stats", "--window", "10000000000d"],
        vec!["purge", "--older-than", "99999999999999999999999", "--yes"],
        vec!["cancel", "--queue", "q", "--rate", "1e-300/s", "--yes"],
    ];
    for args in cases {
        let out = in_process(Some(&db.url), &args).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("out of range"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    assert_eq!(job_count(&db.pool).await, 0, "nothing was enqueued");
    let ok = in_process(Some(&db.url), &enqueue("3650d")).await;
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    db.finish().await;
}
