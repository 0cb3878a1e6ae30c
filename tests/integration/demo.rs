//! `herald demo`, exactly as the README runs it (no `DATABASE_URL`): it exits 0 and its
//! summary matches an independent count of the audit table.

use crate::cli::herald;

fn number_after(text: &str, label: &str) -> i64 {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} in:\n{text}"))
}

#[tokio::test]
async fn the_demo_runs_end_to_end_and_its_summary_matches_the_audit_table() {
    let out = herald(None, &["demo", "--jobs", "100"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let url = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export DATABASE_URL='"))
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no DATABASE_URL in:\n{stdout}"));
    let pool = sqlx::PgPool::connect(url)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(
        number_after(&stdout, "Audit rows:"),
        count("SELECT count(*) FROM herald.attempts").await
    );
    assert_eq!(
        number_after(&stdout, "succeeded"),
        count("SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'").await
    );
    assert_eq!(
        number_after(&stdout, "dead"),
        count("SELECT count(*) FROM herald.jobs WHERE state = 'dead'").await
    );
    assert_eq!(
        number_after(&stdout, "retried"),
        count("SELECT count(*) FROM herald.jobs WHERE attempt > 1").await
    );
    assert_eq!(
        count("SELECT count(*) FROM herald.jobs WHERE state NOT IN ('succeeded', 'dead')").await,
        0
    );
    let alert: Vec<String> = sqlx::query_scalar(
        "SELECT transition FROM herald.alert_events WHERE scope = '*' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        alert,
        vec!["tripped", "resolved"],
        "the mix trips the alert, then it resolves"
    );
    assert!(
        stdout.contains("alert tripped") && stdout.contains("alert resolved"),
        "{stdout}"
    );
    // The campaign is one batch whose summary webhook ran exactly once, after the rest.
    let campaign = number_after(&stdout, "Campaign batch");
    assert!(
        stdout.contains("summary webhook (job ") && stdout.contains("): succeeded, started "),
        "{stdout}"
    );
    let summaries: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.attempts a JOIN herald.batch_waiters w ON w.job_id = a.job_id
         WHERE w.batch_id = $1 AND w.on_event = 'complete'",
    )
    .bind(campaign)
    .fetch_one(&pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(summaries, 1);
    herald_tests::db::assert_every_attempt_audited_once(&pool).await;
    pool.close().await;
}
