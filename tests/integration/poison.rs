//! Stored values a loop cannot convert: a run time of `'infinity'`, `'-infinity'` or a
//! year beyond chrono's range, written around enqueue's validation with raw SQL, is that
//! row's problem. The queue keeps running its other jobs, the CLI reads the row, and a
//! worker row with an infinite heartbeat does not blind the fleet's heartbeat metric.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::metrics::{free_addr, sample, scrape};
use herald_tests::wait::{eventually, settled, state, trail};
use herald_tests::workers::InProcessWorker;

use crate::cli::in_process;
use crate::enqueue_scripted;

/// Makes `db` look like a database whose rows were stored before the enqueue rules'
/// CHECK constraints existed (they are `NOT VALID`: old rows are never checked), so the
/// rows planted below are what such a deployment may still hold.
async fn without_enqueue_checks(db: &TestDb) {
    sqlx::raw_sql(
        "ALTER TABLE herald.jobs
             DROP CONSTRAINT IF EXISTS jobs_enqueued_run_at_in_range,
             DROP CONSTRAINT IF EXISTS jobs_enqueued_queue_name,
             DROP CONSTRAINT IF EXISTS jobs_enqueued_job_type_name,
             DROP CONSTRAINT IF EXISTS jobs_enqueued_max_attempts_in_range",
    )
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("drop checks: {e}"));
}

/// Inserts a `test.scripted` job in queue `default` with `run_at` as PostgreSQL reads the
/// text `run_at`, as a row stored before the enqueue rules (see [`without_enqueue_checks`]).
async fn insert_raw(db: &TestDb, key: &str, run_at: &str) -> i64 {
    without_enqueue_checks(db).await;
    let payload = serde_json::to_string(&ScriptedJob::new(key, vec![Step::Succeed]))
        .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, payload, run_at)
         VALUES ('test.scripted', $1::jsonb, $2::timestamptz) RETURNING id",
    )
    .bind(payload)
    .bind(run_at)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("insert {run_at}: {e}"))
}

#[tokio::test]
async fn a_worker_with_out_of_range_run_times_in_its_queue_keeps_running_the_other_jobs() {
    let db = TestDb::new().await;
    let infinite = insert_raw(&db, "inf", "infinity").await;
    let far = insert_raw(&db, "far", "294276-01-01 00:00:00+00").await;
    let negative = insert_raw(&db, "neg", "-infinity").await;
    // An attempt counter at its type's limit: the claim's `attempt + 1` must not overflow.
    let counted_out = insert_raw(&db, "max", "-infinity").await;
    sqlx::query(
        "UPDATE herald.jobs SET run_at = now(), attempt = 2147483647, max_attempts = 2147483647
         WHERE id = $1",
    )
    .bind(counted_out)
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let ok = enqueue_scripted(&db.pool, "ok", vec![Step::Succeed], 3).await;
    let worker = InProcessWorker::start(&db, "w1", &[]).await;
    settled(
        &db.pool,
        &[ok, negative, counted_out],
        Duration::from_secs(30),
    )
    .await;
    // Ran after the poison rows were in the queue (and after one was claimed).
    let later = enqueue_scripted(&db.pool, "later", vec![Step::Succeed], 3).await;
    settled(&db.pool, &[later], Duration::from_secs(30)).await;
    worker.stop().await;
    assert_eq!(state(&db.pool, ok).await, "succeeded");
    assert_eq!(state(&db.pool, later).await, "succeeded");
    // '-infinity' is due: claimed, never run, dead with its cause on the trail.
    assert_eq!(state(&db.pool, negative).await, "dead");
    let rows = trail(&db.pool, negative).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].error_code.as_deref(), Some("VALIDATION_ERROR"));
    let message = rows[0].message.clone().unwrap_or_default();
    assert!(message.contains("-infinity (out of range)"), "{message}");
    // The counter saturates: the job runs once more, recorded as attempt 2147483647.
    assert_eq!(state(&db.pool, counted_out).await, "succeeded");
    let rows = trail(&db.pool, counted_out).await;
    assert_eq!(
        rows.iter().map(|r| r.attempt).collect::<Vec<_>>(),
        [i32::MAX]
    );
    // Its 2147483646 earlier attempts were never made (the count was written by hand), so
    // the harness's one-row-per-attempt check cannot hold for it: take it out of the check.
    sqlx::query("DELETE FROM herald.jobs WHERE id = $1")
        .bind(counted_out)
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    // Never due: they wait, visible, for an operator.
    assert_eq!(state(&db.pool, infinite).await, "pending");
    assert_eq!(state(&db.pool, far).await, "pending");
    db.finish().await;
}

#[tokio::test]
async fn jobs_list_show_and_cancel_read_out_of_range_run_times_without_panicking() {
    let db = TestDb::new().await;
    let infinite = insert_raw(&db, "inf", "infinity").await;
    let negative = insert_raw(&db, "neg", "-infinity").await;
    let far = insert_raw(&db, "far", "294276-01-01 00:00:00+00").await;
    let run = async |args: &[&str]| {
        let out = in_process(Some(&db.url), args).await;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        );
        assert!(
            out.status.success(),
            "herald {args:?} failed: {stderr}{stdout}"
        );
        stdout
    };
    let table = run(&["jobs", "list", "--state", "scheduled,pending"]).await;
    assert!(table.contains("infinity (out of range)"), "{table}");
    assert!(table.contains("-infinity (out of range)"), "{table}");
    assert!(
        table.contains("beyond year 262143 (out of range)"),
        "{table}"
    );
    let json = run(&["jobs", "list", "--json"]).await;
    assert!(
        json.contains(r#""run_at":"infinity (out of range)""#),
        "{json}"
    );
    let shown = run(&["jobs", "show", &infinite.to_string()]).await;
    assert!(shown.contains("run at infinity (out of range)"), "{shown}");
    run(&["jobs", "show", &far.to_string(), "--json"]).await;
    let ids = [infinite, negative, far].map(|id| id.to_string());
    let mut args = vec!["cancel", "--actor", "ops", "--reason", "poison", "--yes"];
    args.extend(ids.iter().map(String::as_str));
    let out = run(&args).await;
    assert!(out.starts_with("cancelled 3 jobs"), "{out}");
    for id in [infinite, negative, far] {
        assert_eq!(state(&db.pool, id).await, "cancelled");
    }
    db.finish().await;
}

#[tokio::test]
async fn a_worker_row_with_an_infinite_heartbeat_does_not_hide_the_fleets_heartbeat_ages() {
    let db = TestDb::new().await;
    sqlx::query(
        "INSERT INTO herald.workers (id, hostname, pid, queues, heartbeat_at)
         VALUES ('poisoned', 'h', 1, '{default}', '-infinity')",
    )
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let addr = free_addr();
    let addr_text = addr.to_string();
    let worker =
        InProcessWorker::start(&db, "scraped", &[("HERALD_METRICS_ADDR", &addr_text)]).await;
    let age = |text: &str, worker: &str| {
        sample(
            text,
            "herald_worker_heartbeat_age_seconds",
            &format!("worker=\"{worker}\""),
        )
    };
    let text = eventually(
        "a scrape with heartbeat ages",
        Duration::from_secs(30),
        || async { scrape(addr).await.filter(|t| age(t, "scraped").is_some()) },
    )
    .await;
    worker.stop().await;
    assert_eq!(age(&text, "poisoned"), Some(f64::INFINITY), "{text}");
    db.finish().await;
}

#[tokio::test]
async fn a_claimed_row_that_breaks_the_enqueue_rules_never_holds_back_the_release_of_its_batch() {
    let db = TestDb::new().await;
    // Two claimed, unstarted first attempts of worker `w`: a good one, and one stored
    // before the rules (a budget of 5000, over today's cap) that the CHECK refuses to put
    // back to pending with no attempt made.
    let good = enqueue_scripted(&db.pool, "good", vec![Step::Succeed], 3).await;
    let old = enqueue_scripted(&db.pool, "old", vec![Step::Succeed], 3).await;
    sqlx::query(
        "UPDATE herald.jobs SET state = 'running', attempt = 1, locked_by = 'w',
                claimed_at = now(), heartbeat_at = now(),
                max_attempts = CASE WHEN id = $2 THEN 5000 ELSE max_attempts END
         WHERE id = ANY($1)",
    )
    .bind(vec![good, old])
    .bind(old)
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let released = herald_worker::queue::claim::release(&db.pool, "w", &[old, good])
        .await
        .unwrap_or_else(|e| panic!("release: {e}"));
    assert_eq!(released, 1);
    assert_eq!(state(&db.pool, good).await, "pending");
    // Left running under its lease: rescue returns it (and audits the attempt).
    assert_eq!(state(&db.pool, old).await, "running");
    db.finish().await;
}

#[tokio::test]
async fn a_dead_job_with_an_attempt_count_near_the_integer_limit_never_fails_a_bulk_replay() {
    let db = TestDb::new().await;
    let ordinary = enqueue_scripted(&db.pool, "ordinary", vec![Step::Succeed], 3).await;
    let counted_out = enqueue_scripted(&db.pool, "counted-out", vec![Step::Succeed], 3).await;
    // Both dead; one with an attempt count written around enqueue, near i32::MAX.
    sqlx::query(
        "UPDATE herald.jobs SET state = 'dead', finished_at = now(),
                attempt = CASE WHEN id = $2 THEN 2147483646 ELSE 0 END
         WHERE id = ANY($1)",
    )
    .bind(vec![ordinary, counted_out])
    .bind(counted_out)
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let out = in_process(
        Some(&db.url),
        &["replay", "--state", "dead", "--reason", "test", "--yes"],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in [ordinary, counted_out] {
        assert_eq!(state(&db.pool, id).await, "pending", "job {id}");
    }
    let budget: i32 = sqlx::query_scalar("SELECT max_attempts FROM herald.jobs WHERE id = $1")
        .bind(counted_out)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(budget, i32::MAX);
    // Neither runs here: the audit check applies to attempts made, and these rows' made
    // attempts were written by hand.
    sqlx::query("DELETE FROM herald.jobs WHERE id = ANY($1)")
        .bind(vec![ordinary, counted_out])
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    db.finish().await;
}
