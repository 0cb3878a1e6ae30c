//! The operator CLI's safety and clarity, run in-process: stored text printed escaped,
//! the bulk-action rule for explicit ids, alert events in the audit log, one-line
//! errors an operator can act on, and the `workers`, `queues`, paging and
//! payload-from-file ergonomics. As a real process: a closed output pipe, a payload on
//! stdin, and every command's help as the binary prints it.

use std::process::{Command, Output, Stdio};

use herald_tests::db::{TestDb, with_database};
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::{
    herald, herald_bin, in_process, in_process_with, json_lines, ok, run_with_stdin, text,
};

/// Asserts a failed run: exit `code`, one line on stderr containing `expected`, no SQL,
/// no panic, nothing on stdout. Returns stderr.
fn one_line_error(out: &Output, code: i32, expected: &str) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(
        stderr.starts_with("herald: ") && stderr.contains(expected),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(
        !stderr.contains("SELECT") && !stderr.contains("panicked"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
    stderr
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Inserts `n` dead jobs (one failed attempt each); returns their ids, oldest first.
async fn seed_dead(pool: &PgPool, n: i32) -> Vec<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH j AS (
             INSERT INTO herald.jobs (job_type, payload, state, attempt, max_attempts, finished_at, last_error_code)
             SELECT 'test.scripted', '{}', 'dead', 1, 1, now(), 'TIMEOUT' FROM generate_series(1, $1)
             RETURNING id, job_type, queue, finished_at)
         INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message)
         SELECT id, job_type, queue, 1, 'seed-worker', finished_at, finished_at, 1, 'dead', 'dead', 'TIMEOUT', 'terminal', 'took too long'
         FROM j RETURNING job_id",
    )
    .bind(n)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("seed: {e}"));
    let mut ids = ids;
    ids.sort_unstable();
    ids
}

async fn states(pool: &PgPool, ids: &[i64]) -> Vec<String> {
    sqlx::query_scalar("SELECT state FROM herald.jobs WHERE id = ANY($1) ORDER BY id")
        .bind(ids)
        .fetch_all(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn stored_control_characters_print_escaped_in_every_table() {
    let db = TestDb::new().await;
    let evil = "x\u{1b}[2J\ny";
    let dead: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, finished_at, last_error_code, idempotency_key)
         VALUES ('test.scripted', $1, '{}', 'dead', 1, 1, now(), 'TIMEOUT', $1) RETURNING id",
    )
    .bind(format!("queue-{evil}"))
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state, error_code, error_class, message)
         SELECT id, job_type, queue, 1, $2, now(), now(), 1, 'dead', 'dead', 'TIMEOUT', 'terminal', $2
         FROM herald.jobs WHERE id = $1",
    )
    .bind(dead)
    .bind(format!("worker-{evil}"))
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let running: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, locked_by, claimed_at, heartbeat_at, idempotency_key)
         VALUES ('test.scripted', $1, '{}', 'running', 1, $1, now(), now(), $1) RETURNING id",
    )
    .bind(format!("held-{evil}"))
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO herald.operator_actions (actor, action, reason, job_count, job_ids)
         VALUES ($1, 'replay', $1, 1, ARRAY[$2::bigint])",
    )
    .bind(format!("actor-{evil}"))
    .bind(dead)
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    sqlx::query(
        "INSERT INTO herald.workers (id, hostname, pid, queues) VALUES ($1, $1, 7, ARRAY[$1])",
    )
    .bind(format!("live-{evil}"))
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    for args in [
        vec!["jobs", "list"],
        vec!["jobs", "show", &dead.to_string()],
        vec!["jobs", "show", &running.to_string()],
        vec!["failures"],
        vec!["audit"],
        vec!["workers"],
        vec!["queues"],
    ] {
        let out = ok(&db, &args).await;
        assert!(!out.contains('\u{1b}'), "{args:?} printed ESC: {out:?}");
        assert!(
            !out.lines().any(|l| l.starts_with('y')),
            "{args:?} printed a stored newline: {out}"
        );
        // Escaped, not dropped (`failures` also normalises digits and whitespace).
        let escaped = if args[0] == "failures" {
            r"x\u{1b}[<n>J"
        } else {
            r"x\u{1b}[2J\ny"
        };
        assert!(out.contains(escaped), "{args:?}: {out}");
    }
    db.finish().await;
}

#[tokio::test]
async fn several_explicit_ids_need_a_reason_and_confirmation_like_a_filter() {
    let db = TestDb::new().await;
    let dead = seed_dead(&db.pool, 3).await;
    let ids: Vec<String> = dead.iter().map(i64::to_string).collect();
    let waiting: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, payload, run_at) SELECT 'test.scripted', '{}', now() + interval '1 hour'
         FROM generate_series(1, 2) RETURNING id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let waiting_ids: Vec<String> = waiting.iter().map(i64::to_string).collect();
    for command in ["replay", "cancel"] {
        let targets = if command == "replay" {
            &ids
        } else {
            &waiting_ids
        };
        let mut args: Vec<&str> = vec![command];
        args.extend(targets.iter().map(String::as_str));
        one_line_error(&in_process(Some(&db.url), &args).await, 2, "needs --reason");
        args.extend(["--reason", "incident 7"]);
        one_line_error(&in_process(Some(&db.url), &args).await, 2, "pass --yes");
    }
    assert_eq!(states(&db.pool, &dead).await, ["dead"; 3]);
    assert_eq!(states(&db.pool, &waiting).await, ["pending", "pending"]);
    // One id stays a one-job action: no reason needed.
    ok(&db, &["replay", &ids[0]]).await;
    assert_eq!(states(&db.pool, &dead[..1]).await, ["pending"]);
    db.finish().await;
}

#[tokio::test]
async fn a_replay_of_a_thousand_ids_records_a_short_readable_filter() {
    let db = TestDb::new().await;
    let dead = seed_dead(&db.pool, 1000).await;
    let ids: Vec<String> = dead.iter().map(i64::to_string).collect();
    let mut args: Vec<&str> = vec!["replay"];
    args.extend(ids.iter().map(String::as_str));
    args.extend(["--reason", "smtp back", "--yes"]);
    let out = ok(&db, &args).await;
    assert!(out.starts_with("replayed 1000 jobs (action "), "{out}");
    let (filter, job_ids): (Value, Vec<i64>) =
        sqlx::query_as("SELECT filter, job_ids FROM herald.operator_actions")
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(job_ids, dead);
    assert_eq!(
        filter,
        serde_json::json!({ "ids": format!("{}-{} (1000 ids)", dead[0], dead[999]) })
    );
    db.finish().await;
}

#[tokio::test]
async fn audit_shows_alert_transitions_merged_with_operator_actions_newest_first() {
    let db = TestDb::new().await;
    exec(
        &db.pool,
        "INSERT INTO herald.alert_events (occurred_at, alert, scope, transition, severity, failure_rate, attempts, failures, threshold, window_seconds, worker_id)
         VALUES (now() - interval '3 minutes', 'failure_rate', 'fleet', 'tripped', 'CRITICAL', 0.12, 100, 12, 0.05, 300, 'w-1'),
                (now() - interval '1 minute', 'failure_rate', 'fleet', 'resolved', 'INFO', 0.01, 100, 1, 0.05, 300, 'w-1');
         INSERT INTO herald.operator_actions (at, actor, action, reason, job_count, job_ids)
         VALUES (now() - interval '2 minutes', 'carol', 'replay', 'smtp back', 1, '{1}');",
    )
    .await;
    let alerts = json_lines(&ok(&db, &["audit", "--action", "alert", "--json"]).await);
    let transitions: Vec<&str> = alerts
        .iter()
        .map(|a| a["filter"]["transition"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(transitions, ["resolved", "tripped"]);
    assert!(alerts.iter().all(|a| a["action"] == "alert"), "{alerts:?}");
    let all = json_lines(&ok(&db, &["audit", "--json"]).await);
    let actions: Vec<&str> = all
        .iter()
        .map(|a| a["action"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(actions, ["alert", "replay", "alert"]);
    let table = ok(&db, &["audit", "--action", "alert"]).await;
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(table.contains("tripped"), "{table}");
    db.finish().await;
}

/// Drops `db` without the audit check (its schema is gone).
async fn drop_database(db: TestDb) {
    db.pool.close().await;
    let admin = PgPool::connect(&with_database(&db.url, "postgres"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    exec(
        &admin,
        &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name),
    )
    .await;
    admin.close().await;
}

#[tokio::test]
async fn an_unmigrated_database_says_to_run_herald_migrate() {
    let db = TestDb::new().await;
    exec(&db.pool, "DROP SCHEMA herald CASCADE").await;
    for args in [&["jobs", "list"][..], &["audit"], &["queues"]] {
        let stderr = one_line_error(
            &in_process(Some(&db.url), args).await,
            1,
            "run `herald migrate`",
        );
        assert!(!stderr.contains("relation"), "{stderr}");
    }
    drop_database(db).await;
}

#[tokio::test]
async fn a_closed_port_says_the_connection_was_refused_and_where() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("postgres://op:secret-pw@127.0.0.1:{port}/herald");
    for command in [&["jobs", "list"][..], &["migrate"], &["worker"]] {
        let out =
            in_process_with(Some(&url), &[("HERALD_DB_ACQUIRE_TIMEOUT", "1s")], command).await;
        let stderr = one_line_error(
            &out,
            1,
            &format!("cannot connect to the database at 127.0.0.1:{port}: connection refused"),
        );
        assert!(
            !stderr.contains("secret-pw") && !stderr.contains("timed out"),
            "{command:?}: {stderr}"
        );
    }
}

#[tokio::test]
async fn a_malformed_database_url_says_so_without_echoing_it() {
    for url in [
        "secret-pw@db.example.com/herald",
        "op:secret-pw@db.example.com/herald",
        "postgres://op:secret-pw@db.example.com:port/herald",
    ] {
        for args in [&["jobs", "list"][..], &["migrate"], &["worker"]] {
            let out = in_process(Some(url), args).await;
            let stderr = one_line_error(&out, 2, "DATABASE_URL is malformed");
            assert!(!stderr.contains("secret-pw"), "{url}: {stderr}");
            assert!(!stderr.contains("relative URL"), "{url}: {stderr}");
        }
    }
}

#[tokio::test]
async fn a_closed_output_pipe_ends_quietly() {
    let db = TestDb::new().await;
    seed_dead(&db.pool, 3).await;
    // The reading end is closed before herald starts: its first write meets EPIPE.
    let (reader, writer) = std::io::pipe().unwrap_or_else(|e| panic!("{e}"));
    drop(reader);
    let out = Command::new(herald_bin())
        .args(["jobs", "list"])
        .env("DATABASE_URL", &db.url)
        .env("HERALD_LOG", "warn")
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    db.finish().await;
}

#[tokio::test]
async fn workers_and_queues_show_live_workers_and_depth_by_state() {
    let db = TestDb::new().await;
    exec(
        &db.pool,
        "INSERT INTO herald.workers (id, hostname, pid, queues, started_at, heartbeat_at)
         VALUES ('w-live', 'host-a', 42, '{default,mail}', now() - interval '1 hour', now() - interval '3 seconds');
         INSERT INTO herald.workers (id, hostname, pid, queues, stopped_at)
         VALUES ('w-gone', 'host-b', 7, '{default}', now());
         INSERT INTO herald.jobs (job_type, payload, queue, state, attempt, locked_by, claimed_at, heartbeat_at)
         VALUES ('test.scripted', '{}', 'mail', 'running', 1, 'w-live', now(), now());
         INSERT INTO herald.jobs (job_type, payload, queue)
         VALUES ('test.scripted', '{}', 'default'), ('test.scripted', '{}', 'default');
         INSERT INTO herald.jobs (job_type, payload, queue, run_at)
         VALUES ('test.scripted', '{}', 'default', now() + interval '1 hour');
         INSERT INTO herald.jobs (job_type, payload, queue, state, finished_at)
         VALUES ('test.scripted', '{}', 'default', 'dead', now()),
                ('test.scripted', '{}', 'default', 'succeeded', now());",
    )
    .await;
    let live = json_lines(&ok(&db, &["workers", "--json"]).await);
    assert_eq!(live.len(), 1, "{live:?}");
    let w = &live[0];
    assert_eq!(
        (&w["id"], &w["hostname"], &w["pid"], &w["in_flight"]),
        (
            &Value::from("w-live"),
            &Value::from("host-a"),
            &Value::from(42),
            &Value::from(1)
        )
    );
    assert_eq!(w["queues"], serde_json::json!(["default", "mail"]));
    assert!(
        w["heartbeat_age_secs"].as_f64().unwrap_or(0.0) >= 3.0,
        "{w}"
    );
    assert_eq!(
        json_lines(&ok(&db, &["workers", "--all", "--json"]).await).len(),
        2
    );
    let table = ok(&db, &["workers"]).await;
    assert!(table.starts_with("ID "), "{table}");
    assert!(
        table.contains("IN FLIGHT") && table.contains("host-a"),
        "{table}"
    );
    assert!(!table.contains("w-gone"), "{table}");

    let queues = json_lines(&ok(&db, &["queues", "--json"]).await);
    assert_eq!(
        queues,
        vec![
            serde_json::json!({"queue": "default", "state": "active", "pending": 2, "scheduled": 1,
                               "running": 0, "retrying": 0, "dead": 1, "waiting": 0, "workers": 1,
                               "paused_at": null, "paused_by": null, "pause_reason": null}),
            serde_json::json!({"queue": "mail", "state": "active", "pending": 0, "scheduled": 0,
                               "running": 1, "retrying": 0, "dead": 0, "waiting": 0, "workers": 1,
                               "paused_at": null, "paused_by": null, "pause_reason": null}),
        ]
    );
    let table = ok(&db, &["queues"]).await;
    assert!(
        table.starts_with(
            "QUEUE    STATE   PENDING  SCHEDULED  RUNNING  RETRYING  DEAD  WAITING  WORKERS  PAUSED SINCE  PAUSED BY (REASON)\n"
        ),
        "{table}"
    );
    db.finish().await;
}

#[tokio::test]
async fn enqueue_reads_a_200_kb_payload_from_a_file_or_stdin() {
    let db = TestDb::new().await;
    let pad = "x".repeat(200_000);
    let payload =
        format!(r#"{{"url":"https://hooks.example.com/orders","body":{{"pad":"{pad}"}}}}"#);
    let path = std::env::temp_dir().join(format!("herald-payload-{}.json", rand::random::<u64>()));
    std::fs::write(&path, &payload).unwrap_or_else(|e| panic!("{e}"));
    let file_arg = format!("@{}", path.display());
    let out = ok(
        &db,
        &[
            "enqueue",
            "notify.webhook",
            "--payload",
            &file_arg,
            "--delay",
            "1h",
        ],
    )
    .await;
    assert!(out.starts_with("enqueued job "), "{out}");
    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("{e}"));

    let out = run_with_stdin(
        Command::new(herald_bin())
            .args([
                "enqueue",
                "notify.webhook",
                "--payload",
                "-",
                "--delay",
                "1h",
            ])
            .env("DATABASE_URL", &db.url)
            .env("HERALD_LOG", "warn"),
        &payload,
        "herald enqueue",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));

    let pads: Vec<i32> =
        sqlx::query_scalar("SELECT length(payload->'body'->>'pad') FROM herald.jobs ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pads, [200_000, 200_000]);

    one_line_error(
        &in_process(
            Some(&db.url),
            &[
                "enqueue",
                "notify.webhook",
                "--payload",
                "@/nonexistent/p.json",
            ],
        )
        .await,
        2,
        "cannot read --payload file /nonexistent/p.json",
    );
    db.finish().await;
}

#[tokio::test]
async fn jobs_list_pages_with_an_after_cursor_and_counts_when_asked() {
    let db = TestDb::new().await;
    let ids = seed_dead(&db.pool, 5).await;
    let page = async |args: &[&str]| -> Vec<i64> {
        json_lines(&ok(&db, args).await)
            .iter()
            .filter_map(|j| j["id"].as_i64())
            .collect()
    };
    assert_eq!(
        page(&["jobs", "list", "--limit", "2", "--json"]).await,
        [ids[4], ids[3]]
    );
    let after = ids[3].to_string();
    assert_eq!(
        page(&["jobs", "list", "--limit", "2", "--after", &after, "--json"]).await,
        [ids[2], ids[1]]
    );
    let after = ids[1].to_string();
    assert_eq!(
        page(&["jobs", "list", "--limit", "2", "--after", &after, "--json"]).await,
        [ids[0]]
    );

    let table = ok(&db, &["jobs", "list", "--limit", "2"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert_eq!(
        lines[3],
        format!("first 2 matching shown; next page: --after {}", ids[3])
    );
    // Times in tables say they are UTC.
    assert!(lines[1].contains("Z "), "{table}");
    let table = ok(&db, &["jobs", "list", "--limit", "2", "--count"]).await;
    assert!(
        table.ends_with(&format!(
            "2 shown of 5 matching; next page: --after {}\n",
            ids[3]
        )),
        "{table}"
    );
    let last = ok(&db, &["jobs", "list", "--limit", "5"]).await;
    assert_eq!(
        last.lines().count(),
        6,
        "no footer on the only page: {last}"
    );
    db.finish().await;
}

#[test]
fn every_command_shows_examples_and_worker_help_lists_its_environment() {
    for command in [
        "worker", "migrate", "enqueue", "stats", "demo", "jobs", "failures", "replay", "cancel",
        "purge", "audit", "workers", "queues",
    ] {
        let out = herald(None, &[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let help = text(&out.stdout);
        assert!(help.contains("\nExamples:\n  "), "{command}: {help}");
        assert!(
            help.contains(&format!("herald {command}")) || command == "migrate",
            "{command}: {help}"
        );
    }
    let help = text(&herald(None, &["worker", "--help"]).stdout);
    for variable in [
        "DATABASE_URL",
        "HERALD_QUEUES",
        "HERALD_SHUTDOWN_GRACE",
        "HERALD_MAX_PAYLOAD_BYTES",
    ] {
        assert!(
            help.contains(&format!("\n  {variable}\n")),
            "{variable}: {help}"
        );
    }
}
