//! The operator CLI, run in-process on a real database: failures grouped by
//! fingerprint, replay by fingerprint and by id (idempotent, dry run, never touching
//! running jobs), the job timeline, the operator-action log, cancel, purge, and bad input
//! that changes nothing. As a real process on a terminal: the confirmation prompt and
//! the progress line.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::{settled, state};
use herald_tests::workers::InProcessWorker;
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::{in_process, json_lines, ok, text};
use crate::enqueue_scripted;

fn ids_of(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
        .iter()
        .filter_map(Value::as_i64)
        .collect()
}

/// Inserts a job that died on its first attempt with `code` / `message`, finished
/// `days_ago`, with its audit row; returns its id.
async fn seed_dead(pool: &PgPool, code: &str, message: &str, days_ago: i32) -> i64 {
    seed_finished(pool, "dead", Some((code, message)), days_ago).await
}

async fn seed_finished(
    pool: &PgPool,
    job_state: &str,
    error: Option<(&str, &str)>,
    days_ago: i32,
) -> i64 {
    let (code, message) = error.unzip();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, payload, state, attempt, max_attempts, created_at, finished_at, run_at, last_error_code)
         VALUES ('test.scripted', '{\"key\":\"seed\",\"steps\":[]}', $1, 1, 1,
                 now() - make_interval(days => $2) - interval '1 minute',
                 now() - make_interval(days => $2), now() - make_interval(days => $2), $3)
         RETURNING id",
    )
    .bind(job_state)
    .bind(days_ago)
    .bind(code)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("seed job: {e}"));
    sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message)
         SELECT id, job_type, queue, 1, 'seed-worker', finished_at - interval '1 second', finished_at, 1000,
                $2, $2, $3, CASE WHEN $3::text IS NULL THEN NULL ELSE 'terminal' END, $4
         FROM herald.jobs WHERE id = $1",
    )
    .bind(id)
    .bind(job_state)
    .bind(code)
    .bind(message)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("seed attempt: {e}"));
    id
}

/// Everything a command could change, to assert that it changed nothing.
async fn snapshot(pool: &PgPool) -> (Vec<String>, i64, i64) {
    let jobs: Vec<String> = sqlx::query_scalar(
        "SELECT concat_ws(' ', id, state, attempt, max_attempts, run_at, finished_at, locked_by)
         FROM herald.jobs ORDER BY id",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.attempts")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (jobs, attempts, action_count(pool).await)
}

async fn action_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM herald.operator_actions")
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn failing(code: &str, message: String) -> Step {
    Step::Fail {
        code: code.to_owned(),
        message,
    }
}

#[tokio::test]
async fn failures_group_by_cause_and_replay_by_fingerprint_reruns_only_that_group() {
    let db = TestDb::new().await;
    let worker = InProcessWorker::start(&db, "op-w1", &[]).await;
    let mut smtp = Vec::new();
    for n in 0..3 {
        let steps = vec![
            failing(
                "UPSTREAM_UNAVAILABLE",
                format!("smtp.example.com refused order {n}"),
            ),
            Step::Succeed,
        ];
        smtp.push(enqueue_scripted(&db.pool, &format!("smtp-{n}"), steps, 1).await);
    }
    let mut gone = Vec::new();
    for n in 0..2 {
        let steps = vec![failing(
            "NOT_FOUND",
            format!("customer {} not found", 100 + n),
        )];
        gone.push(enqueue_scripted(&db.pool, &format!("gone-{n}"), steps, 1).await);
    }
    let all: Vec<i64> = smtp.iter().chain(&gone).copied().collect();
    settled(&db.pool, &all, Duration::from_secs(20)).await;

    // Two causes, two fingerprints, with the right counts.
    let groups = json_lines(&ok(&db, &["failures", "--json"]).await);
    assert_eq!(groups.len(), 2, "{groups:?}");
    let group = |code: &str| {
        groups
            .iter()
            .find(|g| g["error_code"] == code)
            .unwrap_or_else(|| panic!("no {code} group in {groups:?}"))
            .clone()
    };
    let (up, nf) = (group("UPSTREAM_UNAVAILABLE"), group("NOT_FOUND"));
    assert_eq!(
        (up["jobs"].as_i64(), up["attempts"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (nf["jobs"].as_i64(), nf["attempts"].as_i64()),
        (Some(2), Some(2))
    );
    assert_eq!(up["type"], "test.scripted");
    assert!(smtp.contains(&up["example_job_id"].as_i64().unwrap_or_default()));
    let fp = up["fingerprint"].as_str().unwrap_or_default().to_owned();
    assert_eq!(fp.len(), 12);
    let table = ok(&db, &["failures"]).await;
    assert!(table.contains(&fp) && table.contains(nf["fingerprint"].as_str().unwrap_or("?")));

    // A dry run lists the group and changes nothing.
    let before = snapshot(&db.pool).await;
    let dry = ok(&db, &["replay", "--fingerprint", &fp, "--dry-run"]).await;
    assert!(dry.starts_with("dry run: would replay 3 jobs"), "{dry}");
    for id in &smtp {
        assert!(dry.contains(&format!("\n{id} ")), "{dry}");
    }
    for id in &gone {
        assert!(!dry.contains(&format!("\n{id} ")), "{dry}");
    }
    assert_eq!(snapshot(&db.pool).await, before);

    // Replaying the group: only its jobs, which run again and succeed.
    let out = ok(
        &db,
        &[
            "replay",
            "--fingerprint",
            &fp,
            "--reason",
            "smtp relay fixed",
            "--yes",
            "--actor",
            "alice",
            "--json",
        ],
    )
    .await;
    let report: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    let mut replayed = ids_of(&report["changed"]);
    replayed.sort_unstable();
    assert_eq!(replayed, smtp);
    assert_eq!(report["action"], "replay");
    assert_eq!(report["dry_run"], false);
    settled(&db.pool, &smtp, Duration::from_secs(20)).await;
    for id in &smtp {
        assert_eq!(state(&db.pool, *id).await, "succeeded");
    }
    for id in &gone {
        assert_eq!(state(&db.pool, *id).await, "dead");
    }

    // The timeline: the failed attempt, the replay, the new successful attempt.
    let shown: Value = serde_json::from_str(
        ok(&db, &["jobs", "show", &smtp[0].to_string(), "--json"])
            .await
            .trim(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let timeline: Vec<(String, String)> = shown["timeline"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .map(|e| {
            let what = e["outcome"]
                .as_str()
                .or(e["action"].as_str())
                .unwrap_or("?");
            (
                e["kind"].as_str().unwrap_or("?").to_owned(),
                what.to_owned(),
            )
        })
        .collect();
    let expected = [
        ("attempt", "dead"),
        ("action", "replay"),
        ("attempt", "succeeded"),
    ]
    .map(|(k, w)| (k.to_owned(), w.to_owned()));
    assert_eq!(timeline, expected);
    assert_eq!(shown["timeline"][0]["error_code"], "UPSTREAM_UNAVAILABLE");
    assert_eq!(shown["timeline"][1]["actor"], "alice");
    assert_eq!(shown["timeline"][2]["attempt"], 2);
    assert_eq!(shown["job"]["state"], "succeeded");
    let text_view = ok(&db, &["jobs", "show", &smtp[0].to_string()]).await;
    let (dead, replay, success) = (
        text_view.find("attempt 1  dead"),
        text_view.find("replay by alice"),
        text_view.find("attempt 2  succeeded"),
    );
    assert!(
        dead < replay && replay < success && dead.is_some(),
        "{text_view}"
    );

    // Replaying the same ids again changes nothing and says so.
    let before = snapshot(&db.pool).await;
    let args: Vec<String> = std::iter::once("replay".to_owned())
        .chain(smtp.iter().map(i64::to_string))
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let again = ok(&db, &args).await;
    assert!(
        again.starts_with("replayed no jobs; nothing changed"),
        "{again}"
    );
    assert!(
        again.contains(&format!("job {} is succeeded: left alone", smtp[0])),
        "{again}"
    );
    assert_eq!(snapshot(&db.pool).await, before);

    // The audit log has the action, with actor, reason, filter and ids.
    let actions = json_lines(&ok(&db, &["audit", "--json"]).await);
    assert_eq!(actions.len(), 1, "{actions:?}");
    let action = &actions[0];
    assert_eq!(action["action"], "replay");
    assert_eq!(action["actor"], "alice");
    assert_eq!(action["reason"], "smtp relay fixed");
    assert_eq!(action["job_count"], 3);
    assert_eq!(action["filter"]["fingerprint"], fp.as_str());
    assert_eq!(action["filter"]["state"], serde_json::json!(["dead"]));
    let mut audited = ids_of(&action["job_ids"]);
    audited.sort_unstable();
    assert_eq!(audited, smtp);
    let table = ok(&db, &["audit", "--action", "replay", "--actor", "alice"]).await;
    assert!(table.contains("smtp relay fixed"), "{table}");
    assert!(ok(&db, &["audit", "--actor", "bob"]).await.lines().count() == 1);

    worker.stop().await;
    db.finish().await;
}

#[tokio::test]
async fn replay_is_idempotent_batched_and_never_touches_running_jobs() {
    let db = TestDb::new().await;
    sqlx::query("INSERT INTO herald.job_types (job_type, queue, max_attempts) VALUES ('test.scripted', 'default', 3)")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut dead = Vec::new();
    for n in 0..5 {
        dead.push(seed_dead(&db.pool, "TIMEOUT", &format!("took {n}s"), 0).await);
    }
    let running: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, payload, state, attempt, locked_by, claimed_at, heartbeat_at)
         VALUES ('test.scripted', '{}', 'running', 1, 'busy-worker', now(), now()) RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    // One id: a fresh budget on top of the attempts made, due now, history kept.
    let out = ok(&db, &["replay", &dead[0].to_string(), "--actor", "carol"]).await;
    assert!(out.starts_with("replayed 1 job (action "), "{out}");
    let (st, attempt, max, due): (String, i32, i32, bool) = sqlx::query_as(
        "SELECT state, attempt, max_attempts, run_at <= now() FROM herald.jobs WHERE id = $1",
    )
    .bind(dead[0])
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((st.as_str(), attempt, max, due), ("pending", 1, 4, true));

    // Again (now pending), and a running job: nothing changes, and it says so.
    let before = snapshot(&db.pool).await;
    for id in [dead[0], running] {
        let out = ok(&db, &["replay", &id.to_string()]).await;
        assert!(
            out.starts_with("replayed no jobs; nothing changed"),
            "{out}"
        );
        assert!(out.contains("left alone"), "{out}");
    }
    assert_eq!(snapshot(&db.pool).await, before);

    // A filter replay in batches of 2, throttled: one action row for all of them.
    let out = ok(
        &db,
        &[
            "replay",
            "--state",
            "dead",
            "--error-code",
            "TIMEOUT",
            "--batch-size",
            "2",
            "--rate",
            "1000/s",
            "--reason",
            "timeouts raised",
            "--yes",
        ],
    )
    .await;
    assert!(out.starts_with("replayed 4 jobs (action "), "{out}");
    let (count, ids): (i64, Vec<i64>) = sqlx::query_as(
        "SELECT job_count, job_ids FROM herald.operator_actions WHERE reason = 'timeouts raised'",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((count, ids), (4, dead[1..].to_vec()));
    assert_eq!(action_count(&db.pool).await, 2);
    let (st, owner): (String, Option<String>) =
        sqlx::query_as("SELECT state, locked_by FROM herald.jobs WHERE id = $1")
            .bind(running)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (st.as_str(), owner.as_deref()),
        ("running", Some("busy-worker"))
    );

    // The replayed jobs run and continue their trail at attempt 2 (the fake running job
    // goes first: a worker would rescue it).
    sqlx::query("DELETE FROM herald.jobs WHERE id = $1")
        .bind(running)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let worker = InProcessWorker::start(&db, "op-w2", &[]).await;
    settled(&db.pool, &dead, Duration::from_secs(20)).await;
    worker.stop().await;
    let attempts: Vec<i32> = sqlx::query_scalar(
        "SELECT attempt FROM herald.attempts WHERE job_id = $1 ORDER BY attempt",
    )
    .bind(dead[0])
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(attempts, vec![1, 2]);
    db.finish().await;
}

#[tokio::test]
async fn cancel_and_purge_are_audited_and_purge_keeps_the_trail() {
    let db = TestDb::new().await;
    let scheduled: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, payload, run_at) VALUES ('test.scripted', '{}', now() + interval '1 hour') RETURNING id",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let old_ok = seed_finished(&db.pool, "succeeded", None, 40).await;
    let old_dead = seed_dead(&db.pool, "CONFLICT", "duplicate order 7", 40).await;
    let old_audited = seed_dead(&db.pool, "CONFLICT", "duplicate order 8", 50).await;
    let recent = seed_finished(&db.pool, "succeeded", None, 1).await;

    let listed = json_lines(&ok(&db, &["jobs", "list", "--state", "scheduled", "--json"]).await);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(
        (listed[0]["id"].as_i64(), &listed[0]["state"]),
        (Some(scheduled), &Value::from("scheduled"))
    );
    let count = async |args: &[&str]| json_lines(&ok(&db, args).await).len();
    assert_eq!(count(&["jobs", "list", "--json"]).await, 5);
    assert_eq!(count(&["jobs", "list", "--limit", "2", "--json"]).await, 2);
    assert_eq!(
        count(&["jobs", "list", "--type", "other", "--json"]).await,
        0
    );
    assert_eq!(
        count(&[
            "jobs",
            "list",
            "--queue",
            "default",
            "--state",
            "succeeded,dead",
            "--json"
        ])
        .await,
        4
    );
    assert_eq!(
        count(&[
            "jobs",
            "list",
            "--error-code",
            "CONFLICT",
            "--since",
            "45d",
            "--json"
        ])
        .await,
        1
    );
    assert_eq!(
        count(&["jobs", "list", "--until", "45d", "--json"]).await,
        1
    );
    let table = ok(&db, &["jobs", "list", "--state", "dead"]).await;
    assert!(
        table.starts_with("ID") && table.contains(&format!("\n{old_dead} ")),
        "{table}"
    );

    let out = ok(
        &db,
        &[
            "cancel",
            &scheduled.to_string(),
            "--actor",
            "bob",
            "--reason",
            "not needed",
        ],
    )
    .await;
    assert!(out.starts_with("cancelled 1 job (action "), "{out}");
    assert_eq!(state(&db.pool, scheduled).await, "cancelled");

    // Purge: a dry run changes nothing; then old finished jobs go, their trail stays.
    let before = snapshot(&db.pool).await;
    let dry = ok(
        &db,
        &[
            "purge",
            "--older-than",
            "30d",
            "--state",
            "succeeded,dead",
            "--dry-run",
        ],
    )
    .await;
    assert!(dry.starts_with("dry run: would purge 3 jobs"), "{dry}");
    assert_eq!(snapshot(&db.pool).await, before);
    let out = ok(
        &db,
        &[
            "purge",
            "--older-than",
            "45d",
            "--include-audit",
            "--reason",
            "gdpr",
            "--yes",
        ],
    )
    .await;
    assert!(out.starts_with("purged 1 job (action "), "{out}");
    let out = ok(
        &db,
        &[
            "purge",
            "--older-than",
            "30d",
            "--reason",
            "retention",
            "--yes",
        ],
    )
    .await;
    assert!(out.starts_with("purged 2 jobs"), "{out}");
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM herald.jobs ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, vec![scheduled, recent]);
    let trail = |id: i64| {
        let pool = db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT count(*) FROM herald.attempts WHERE job_id = $1")
                .bind(id)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    assert_eq!(
        (
            trail(old_ok).await,
            trail(old_dead).await,
            trail(old_audited).await
        ),
        (1, 1, 0)
    );
    let shown = ok(&db, &["jobs", "show", &old_dead.to_string()]).await;
    assert!(
        shown.contains("no longer exists (purged)") && shown.contains("purge by"),
        "{shown}"
    );

    let actions = json_lines(&ok(&db, &["audit", "--json"]).await);
    let kinds: Vec<(&str, i64)> = actions
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or("?"),
                a["job_count"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(kinds, vec![("purge", 2), ("purge", 1), ("cancel", 1)]);
    assert_eq!(actions[1]["filter"]["include_audit"], true);
    assert_eq!(actions[2]["actor"], "bob");
    db.finish().await;
}

#[tokio::test]
async fn bad_operator_input_fails_with_one_line_and_changes_nothing() {
    let db = TestDb::new().await;
    let a = seed_dead(&db.pool, "NOT_FOUND", "order 1 missing", 0).await;
    seed_dead(&db.pool, "NOT_FOUND", "order 2 missing", 0).await;
    let before = snapshot(&db.pool).await;
    let missing = (a + 1000).to_string();
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["jobs", "show", &missing], 1, "not found"),
        (vec!["replay", &missing], 1, "not found"),
        (vec!["cancel", &missing], 1, "not found"),
        (vec!["jobs", "show", "abc"], 2, "invalid value"),
        (vec!["jobs", "list", "--since", "soon"], 2, "not a duration"),
        (
            vec!["failures", "--since", "2 fortnights"],
            2,
            "not a duration",
        ),
        (
            vec!["jobs", "list", "--state", "zombie"],
            2,
            "invalid value 'zombie'",
        ),
        (
            vec!["replay", "--fingerprint", "xyz"],
            2,
            "not a fingerprint",
        ),
        (
            vec!["replay", "--fingerprint", "0123456789abcdef"],
            2,
            "not a fingerprint",
        ),
        (
            vec!["replay", "--state", "succeeded"],
            2,
            "only dead or cancelled",
        ),
        (vec!["replay", "1", "--type", "t"], 2, "not both"),
        (vec!["replay"], 2, "give job ids or at least one filter"),
        (
            vec!["replay", "--state", "dead", "--yes"],
            2,
            "needs --reason",
        ),
        (
            vec!["replay", "--state", "dead", "--reason", "r"],
            2,
            "pass --yes",
        ),
        (
            vec!["replay", "--state", "dead", "--rate", "fast"],
            2,
            "not a rate",
        ),
        (
            vec!["cancel", "--state", "dead"],
            2,
            "only pending, scheduled, retrying, waiting or running",
        ),
        (
            vec!["purge", "--older-than", "forever"],
            2,
            "not a duration",
        ),
        (vec!["purge"], 2, "--older-than"),
        (
            vec!["audit", "--action", "explode"],
            2,
            "invalid value 'explode'",
        ),
    ];
    for (args, code, expected) in &cases {
        let out = in_process(Some(&db.url), args).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with("herald: ") && stderr.contains(expected),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            !stderr.contains("SELECT") && !stderr.contains("panicked"),
            "{stderr}"
        );
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
    }
    assert_eq!(snapshot(&db.pool).await, before);

    let out = in_process(None, &["replay", &a.to_string()]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr).trim(), "herald: DATABASE_URL is not set");
    let out = in_process(
        Some("postgres://op:secret-pw@127.0.0.1:1/herald"),
        &["failures"],
    )
    .await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("herald: cannot connect to the database"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("secret-pw"), "{stderr}");
    assert_eq!(snapshot(&db.pool).await, before);
    db.finish().await;
}

#[tokio::test]
async fn every_operator_command_has_help() {
    for args in [
        &["jobs", "--help"][..],
        &["jobs", "list", "--help"],
        &["jobs", "show", "--help"],
        &["failures", "--help"],
        &["replay", "--help"],
        &["cancel", "--help"],
        &["purge", "--help"],
        &["audit", "--help"],
    ] {
        let out = in_process(None, args).await;
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(text(&out.stdout).contains("Usage: herald"), "{args:?}");
    }
}

/// Runs `herald args…` on a pseudo-terminal (util-linux `script`), typing `input`.
fn herald_on_terminal(db: &TestDb, args: &str, input: &str) -> (Option<i32>, String) {
    use std::process::Command;
    let line = format!("{} {args}", crate::cli::herald_bin().display());
    let out = crate::cli::run_with_stdin(
        Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .env("DATABASE_URL", &db.url)
            .env("HERALD_LOG", "warn"),
        input,
        "`script` (util-linux, needed for this test)",
    );
    (out.status.code(), text(&out.stdout))
}

#[tokio::test]
async fn on_a_terminal_bulk_replay_asks_first_and_shows_progress() {
    let db = TestDb::new().await;
    let mut dead = Vec::new();
    for n in 0..3 {
        dead.push(seed_dead(&db.pool, "CONFLICT", &format!("version {n} taken"), 0).await);
    }
    let before = snapshot(&db.pool).await;
    let (code, screen) = herald_on_terminal(&db, "replay --state dead --reason retry", "n\n");
    assert_eq!(code, Some(1), "{screen}");
    assert!(screen.contains("replay 3 jobs? [y/N]"), "{screen}");
    assert!(screen.contains("aborted: nothing changed"), "{screen}");
    assert_eq!(snapshot(&db.pool).await, before);

    let (code, screen) = herald_on_terminal(
        &db,
        "replay --state dead --reason retry --batch-size 1",
        "y\n",
    );
    assert_eq!(code, Some(0), "{screen}");
    assert!(screen.contains("replayed 3/3"), "{screen}");
    assert!(screen.contains("replayed 3 jobs (action "), "{screen}");
    for id in &dead {
        assert_eq!(state(&db.pool, *id).await, "pending");
    }
    assert_eq!(action_count(&db.pool).await, 1);
    db.finish().await;
}

#[tokio::test]
async fn replay_never_makes_two_live_jobs_with_one_idempotency_key() {
    let db = TestDb::new().await;
    let first = seed_dead(&db.pool, "CONFLICT", "x", 0).await;
    let second = seed_dead(&db.pool, "CONFLICT", "x", 0).await;
    sqlx::query("UPDATE herald.jobs SET idempotency_key = 'order-1'")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let out = ok(
        &db,
        &[
            "replay",
            &first.to_string(),
            &second.to_string(),
            "--reason",
            "retry order 1",
            "--yes",
        ],
    )
    .await;
    assert!(out.starts_with("replayed 1 job (action "), "{out}");
    assert!(
        out.contains(&format!("job {second} was dead: left alone (it changed meanwhile, or a live job holds its idempotency key)")),
        "{out}"
    );
    assert_eq!(state(&db.pool, first).await, "pending");
    let out = ok(&db, &["replay", &second.to_string()]).await;
    assert!(out.starts_with("replayed no jobs"), "{out}");
    assert_eq!(state(&db.pool, second).await, "dead");
    db.finish().await;
}
