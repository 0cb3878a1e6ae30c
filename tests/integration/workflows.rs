//! Workflows on real worker processes: a batch's callbacks are released exactly once
//! (also when its last two members finish together on two workers, and when a worker is
//! SIGKILLed while recording a member), a dead member holds the success callback with an
//! explanation in its trail and replaying it resumes the batch, and a chain runs in order.

use std::time::Duration;

use herald_jobs::{Batch, Chain, NewJob, enqueue_batch, enqueue_chain_in};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail};
use herald_tests::metrics::{free_addr, sample, scrape};
use herald_tests::wait::{eventually, state};
use herald_tests::workers::{InProcessWorker, test_env};
use serde_json::json;
use sqlx::PgPool;

use crate::cli::{json_lines, ok};
use crate::effects;
use crate::process::WorkerProcess;
use crate::retention::seed_job;

fn job(key: &str, steps: Vec<Step>) -> NewJob {
    NewJob::new(&ScriptedJob::new(key, steps)).unwrap_or_else(|e| panic!("build job: {e}"))
}

/// The batch's counters and which events have fired.
async fn batch_row(pool: &PgPool, id: i64) -> (i32, i32, bool, bool, bool) {
    sqlx::query_as(
        "SELECT succeeded, dead, completed_at IS NOT NULL, succeeded_at IS NOT NULL, died_at IS NOT NULL
         FROM herald.batches WHERE id = $1",
    )
    .bind(id)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("batch row: {e}"))
}

/// The batch's cancelled counter.
async fn cancelled_count(pool: &PgPool, id: i64) -> i32 {
    sqlx::query_scalar("SELECT cancelled FROM herald.batches WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("batch row: {e}"))
}

/// Job `id`'s only workflow record: (event, message).
async fn workflow_event(pool: &PgPool, id: i64) -> (String, String) {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT event, message FROM herald.workflow_events WHERE job_id = $1")
            .bind(id)
            .fetch_all(pool)
            .await
            .unwrap_or_else(|e| panic!("workflow events: {e}"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no workflow record"))
}

/// Backends waiting for a lock in the statement that records finished attempts (matched by
/// its opening comment: pg_stat_activity keeps only a statement's first 1 kB).
async fn waiting_on_batch(pool: &PgPool) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE '-- Finishes a batch of attempts%'",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("pg_stat_activity: {e}"))
}

async fn lock_batch(db: &TestDb, id: i64) -> sqlx::Transaction<'static, sqlx::Postgres> {
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("SELECT 1 FROM herald.batches WHERE id = $1 FOR UPDATE")
        .bind(id)
        .execute(&mut *tx)
        .await
        .unwrap_or_else(|e| panic!("lock batch: {e}"));
    tx
}

/// Waits until every job of `ids` has ended (succeeded, dead or cancelled): `waiting`
/// callbacks count as open, unlike `wait::settled`.
async fn ended(pool: &PgPool, ids: &[i64]) {
    eventually("the jobs to end", Duration::from_secs(30), || async {
        let open: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM herald.jobs WHERE id = ANY($1)
             AND state NOT IN ('succeeded', 'dead', 'cancelled')",
        )
        .bind(ids)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        (open == 0).then_some(())
    })
    .await;
}

fn worker(db: &TestDb, id: &str) -> WorkerProcess {
    let mut env = test_env(&db.url, id);
    env.insert("HERALD_QUEUES".into(), "default=1".into());
    let process = WorkerProcess::spawn(&env);
    process.wait_started(Duration::from_secs(30));
    process
}

#[tokio::test]
async fn a_batch_enqueued_from_sql_fires_its_callbacks_once_when_its_last_two_members_finish_together_on_two_workers()
 {
    let db = TestDb::new().await;
    let mut one = worker(&db, "wf-one");
    let mut two = worker(&db, "wf-two");
    let member = |key: &str| json!({"job_type": "test.scripted", "payload": {"key": key, "steps": [{"do": "sleep", "ms": 300}]}});
    let callback = |key: &str| json!({"job_type": "test.scripted", "payload": {"key": key, "steps": [{"do": "succeed"}]}});
    // Enqueued from SQL, in the caller's transaction.
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let batch: i64 =
        sqlx::query_scalar("SELECT herald.enqueue_batch($1, $2, $3, $4, 'two at once')")
            .bind(json!([member("m1"), member("m2")]))
            .bind(callback("on-complete"))
            .bind(json!([callback("on-success")]))
            .bind(callback("on-death"))
            .fetch_one(&mut *tx)
            .await
            .unwrap_or_else(|e| panic!("enqueue_batch: {e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    // Hold the batch row while the members run (300 ms each, one per worker): both
    // records queue on it, and are let go together.
    let lock = lock_batch(&db, batch).await;
    eventually(
        "both members' records (one per worker) to wait on the batch row",
        Duration::from_secs(30),
        || async { (waiting_on_batch(&db.pool).await.len() >= 2).then_some(()) },
    )
    .await;
    lock.rollback().await.unwrap_or_else(|e| panic!("{e}"));

    let callbacks: Vec<(i64, String)> = sqlx::query_as(
        "SELECT job_id, on_event FROM herald.batch_waiters WHERE batch_id = $1 ORDER BY on_event",
    )
    .bind(batch)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let id_of = |event: &str| {
        callbacks
            .iter()
            .find(|(_, e)| e == event)
            .map(|(id, _)| *id)
            .unwrap_or_else(|| panic!("no {event} callback"))
    };
    ended(&db.pool, &[id_of("complete"), id_of("success")]).await;
    let members: Vec<(i64, String)> = sqlx::query_as(
        "SELECT j.id, a.worker_id FROM herald.jobs j JOIN herald.attempts a ON a.job_id = j.id
         WHERE j.batch_id = $1 ORDER BY j.id",
    )
    .bind(batch)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let all: Vec<(i64, String, Option<i64>, i32)> =
        sqlx::query_as("SELECT id, state, batch_id, attempt FROM herald.jobs ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(members.len(), 2, "{members:?} {all:?}");
    assert_ne!(members[0].1, members[1].1, "each worker ran one member");
    for event in ["complete", "success"] {
        assert_eq!(state(&db.pool, id_of(event)).await, "succeeded");
        assert_eq!(
            effects(&db.pool, id_of(event), "start").await,
            1,
            "{event} ran once"
        );
    }
    // A batch that succeeded can never die: its death callback ended, saying why.
    assert_eq!(state(&db.pool, id_of("death")).await, "cancelled");
    assert_eq!(effects(&db.pool, id_of("death"), "start").await, 0);
    let (event, message) = workflow_event(&db.pool, id_of("death")).await;
    assert_eq!(event, "skipped");
    assert!(message.contains("succeeded"), "{message}");
    assert_eq!(batch_row(&db.pool, batch).await, (2, 0, true, true, false));
    one.kill_hard();
    two.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn a_worker_killed_while_recording_a_member_rolls_back_the_record_and_the_batch_counts_it_once_later()
 {
    let db = TestDb::new().await;
    let batch = enqueue_batch(
        &db.pool,
        Batch::new(vec![job("k1", vec![Step::Succeed])])
            .on_complete(job("k-complete", vec![Step::Succeed])),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let member = batch.members[0];
    let lock = lock_batch(&db, batch.id).await;
    let mut victim = worker(&db, "wf-victim");
    let pids = eventually(
        "the member's record to wait on the batch row",
        Duration::from_secs(30),
        || async {
            let pids = waiting_on_batch(&db.pool).await;
            (!pids.is_empty()).then_some(pids)
        },
    )
    .await;
    victim.kill_hard();
    // PostgreSQL notices a vanished client only when it next talks to it (or with
    // client_connection_check_interval): end the orphaned backend as it would.
    for pid in pids {
        sqlx::query("SELECT pg_terminate_backend($1)")
            .bind(pid)
            .execute(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    lock.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    // Rolled back together: no audit row, the member still running, nothing counted.
    assert_eq!(state(&db.pool, member).await, "running");
    let audited: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.attempts WHERE job_id = $1")
        .bind(member)
        .fetch_one(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(audited, 0);
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (0, 0, false, false, false)
    );
    assert_eq!(state(&db.pool, batch.callbacks[0]).await, "waiting");

    let mut rescuer = worker(&db, "wf-rescuer");
    ended(&db.pool, &[member, batch.callbacks[0]]).await;
    assert_eq!(state(&db.pool, member).await, "succeeded");
    assert_eq!(effects(&db.pool, batch.callbacks[0], "start").await, 1);
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (1, 0, true, true, false)
    );
    rescuer.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn a_dead_member_holds_the_success_callback_with_its_error_code_and_replaying_it_resumes_the_batch()
 {
    let db = TestDb::new().await;
    let batch = enqueue_batch(
        &db.pool,
        Batch::new(vec![
            job("ok", vec![Step::Succeed]),
            job("dies", vec![fail("NOT_FOUND"), Step::Succeed]),
        ])
        .on_complete(job("on-complete", vec![Step::Succeed]))
        .on_success(job("on-success", vec![Step::Succeed]))
        .on_death(job("on-death", vec![Step::Succeed])),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let (complete, success, death) = (batch.callbacks[0], batch.callbacks[1], batch.callbacks[2]);
    let dies = batch.members[1];
    let mut one = worker(&db, "wf-a");
    let mut two = worker(&db, "wf-b");
    ended(&db.pool, &[complete, death]).await;
    assert_eq!(state(&db.pool, dies).await, "dead");
    assert_eq!(state(&db.pool, success).await, "waiting");
    let held: Vec<(i64, Option<String>, String)> = sqlx::query_as(
        "SELECT upstream_job_id, upstream_error_code, message FROM herald.workflow_events
         WHERE job_id = $1 AND event = 'held'",
    )
    .bind(success)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(held.len(), 1, "{held:?}");
    assert_eq!((held[0].0, held[0].1.as_deref()), (dies, Some("NOT_FOUND")));
    assert!(held[0].2.contains(&dies.to_string()), "{}", held[0].2);
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (1, 1, true, false, true)
    );
    // The held callback's own trail names the dead member and its code.
    let trail = ok(&db, &["jobs", "show", &success.to_string()]).await;
    assert!(
        trail.contains(&format!(
            "held (batch {}, upstream job {dies} NOT_FOUND)",
            batch.id
        )),
        "{trail}"
    );
    // The tree: each member's state, attempts and last error; each callback's state.
    let tree = ok(&db, &["workflows", "show", &batch.id.to_string()]).await;
    assert!(
        tree.contains(&format!("member       job {dies}  test.scripted  dead  attempts 1/3  NOT_FOUND \"not found: scripted NOT_FOUND\"")),
        "{tree}"
    );
    assert!(tree.contains(&format!("on success   job {success}  test.scripted  waiting  attempts 0/3  held: batch member {dies} died with NOT_FOUND")), "{tree}");
    let doc: serde_json::Value = serde_json::from_str(
        &ok(&db, &["workflows", "show", &batch.id.to_string(), "--json"]).await,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["dead"], 1);
    assert_eq!(doc["members"][1]["state"], "dead");
    assert_eq!(doc["members"][1]["last_error_code"], "NOT_FOUND");
    assert_eq!(doc["callbacks"][1]["on"], "success");
    assert_eq!(doc["callbacks"][1]["state"], "waiting");

    ok(&db, &["replay", &dies.to_string()]).await;
    ended(&db.pool, &[dies, success]).await;
    assert_eq!(state(&db.pool, success).await, "succeeded");
    for callback in [complete, success, death] {
        assert_eq!(effects(&db.pool, callback, "start").await, 1);
    }
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (2, 0, true, true, true)
    );
    one.kill_hard();
    two.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn a_chain_runs_in_order_and_a_dead_step_holds_the_next_until_it_is_replayed() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let chain = enqueue_chain_in(
        &mut conn,
        Chain::new(vec![
            job("s1", vec![Step::Sleep { ms: 100 }]),
            job("s2", vec![fail("CONFLICT"), Step::Succeed]),
            job("s3", vec![Step::Succeed]),
        ]),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    drop(conn);
    let mut one = worker(&db, "wf-c1");
    let mut two = worker(&db, "wf-c2");
    let steps = chain.steps.clone();
    ended(&db.pool, &steps[..2]).await;
    assert_eq!(state(&db.pool, steps[1]).await, "dead");
    assert_eq!(state(&db.pool, steps[2]).await, "waiting");
    let code: Option<String> = sqlx::query_scalar(
        "SELECT upstream_error_code FROM herald.workflow_events WHERE job_id = $1 AND upstream_job_id = $2",
    )
    .bind(steps[2])
    .bind(steps[1])
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(code.as_deref(), Some("CONFLICT"));

    ok(&db, &["replay", &steps[1].to_string()]).await;
    ended(&db.pool, &steps).await;
    let order: Vec<(i64, String)> =
        sqlx::query_as("SELECT job_id, event FROM public.test_effects ORDER BY id")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let expected: Vec<(i64, String)> = [
        (steps[0], "start"),
        (steps[0], "done"),
        (steps[1], "start"),
        (steps[1], "start"),
        (steps[1], "done"),
        (steps[2], "start"),
        (steps[2], "done"),
    ]
    .into_iter()
    .map(|(id, e)| (id, e.to_owned()))
    .collect();
    assert_eq!(order, expected);
    // The chain's tree nests each next step's batch under the callback that is that step.
    let doc: serde_json::Value = serde_json::from_str(
        &ok(&db, &["workflows", "show", &chain.id.to_string(), "--json"]).await,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(doc["members"][0]["id"], steps[0]);
    assert_eq!(doc["callbacks"][0]["id"], steps[1]);
    assert_eq!(doc["callbacks"][0]["batch"]["callbacks"][0]["id"], steps[2]);
    assert_eq!(
        doc["callbacks"][0]["batch"]["callbacks"][0]["state"],
        "succeeded"
    );
    one.kill_hard();
    two.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn batch_progress_is_visible_in_the_metrics() {
    let db = TestDb::new().await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let batch = enqueue_batch(
        &db.pool,
        Batch::new(vec![
            job("ok", vec![Step::Succeed]),
            job("dies", vec![fail("NOT_FOUND")]),
            job("later", vec![Step::Succeed]).run_at(later),
        ])
        .on_complete(job("on-complete", vec![Step::Succeed])),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let addr = free_addr();
    let addr_text = addr.to_string();
    let worker = InProcessWorker::start(
        &db,
        "wf-metrics",
        &[("HERALD_METRICS_ADDR", addr_text.as_str())],
    )
    .await;
    ended(&db.pool, &batch.members[..2]).await;
    let text = eventually("metrics over HTTP", Duration::from_secs(10), || {
        scrape(addr)
    })
    .await;
    assert_eq!(
        sample(&text, "herald_workflow_batches_open", ""),
        Some(1.0),
        "{text}"
    );
    for (state, n) in [("succeeded", 1.0), ("dead", 1.0), ("unsettled", 1.0)] {
        assert_eq!(
            sample(
                &text,
                "herald_workflow_open_batch_members",
                &format!("state=\"{state}\"")
            ),
            Some(n),
            "{state}: {text}"
        );
    }
    worker.stop().await;
    db.finish().await;
}

#[tokio::test]
async fn a_cancelled_member_settles_its_batch_fires_complete_once_and_ends_the_success_callback_with_an_explanation()
 {
    let db = TestDb::new().await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let batch = enqueue_batch(
        &db.pool,
        Batch::new(vec![
            job("ok", vec![Step::Succeed]),
            job("scheduled", vec![Step::Succeed]).run_at(later),
        ])
        .on_complete(job("on-complete", vec![Step::Succeed]))
        .on_success(job("on-success", vec![Step::Succeed]))
        .on_death(job("on-death", vec![Step::Succeed])),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let (complete, success, death) = (batch.callbacks[0], batch.callbacks[1], batch.callbacks[2]);
    let (ok_member, scheduled) = (batch.members[0], batch.members[1]);
    let mut one = worker(&db, "wf-cancel");
    ended(&db.pool, &[ok_member]).await;
    assert_eq!(state(&db.pool, complete).await, "waiting");

    ok(&db, &["cancel", &scheduled.to_string()]).await;
    ended(&db.pool, &[scheduled, complete, success]).await;
    assert_eq!(state(&db.pool, complete).await, "succeeded");
    assert_eq!(
        effects(&db.pool, complete, "start").await,
        1,
        "complete ran once"
    );
    // The batch cannot succeed: its success callback ended without running, saying why.
    assert_eq!(state(&db.pool, success).await, "cancelled");
    assert_eq!(effects(&db.pool, success, "start").await, 0);
    let (event, message) = workflow_event(&db.pool, success).await;
    assert_eq!(event, "cancelled");
    assert!(
        message.contains(&format!("batch member {scheduled} was cancelled")),
        "{message}"
    );
    // A cancel is not a death.
    assert_eq!(state(&db.pool, death).await, "waiting");
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (1, 0, true, false, false)
    );
    assert_eq!(cancelled_count(&db.pool, batch.id).await, 1);
    let trail = ok(&db, &["jobs", "show", &success.to_string()]).await;
    assert!(
        trail.contains(&format!("upstream job {scheduled}")),
        "{trail}"
    );
    let tree = ok(&db, &["workflows", "show", &batch.id.to_string()]).await;
    assert!(
        tree.contains("2 members: 1 succeeded, 0 dead, 1 cancelled"),
        "{tree}"
    );
    one.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn waiting_steps_are_listed_and_counted_and_cancelling_a_chain_link_ends_the_rest_with_an_explanation()
 {
    let db = TestDb::new().await;
    let later = chrono::Utc::now() + chrono::Duration::hours(1);
    let mut conn = db.pool.acquire().await.unwrap_or_else(|e| panic!("{e}"));
    let chain = enqueue_chain_in(
        &mut conn,
        Chain::new(vec![
            job("c1", vec![Step::Succeed]).run_at(later),
            job("c2", vec![Step::Succeed]),
            job("c3", vec![Step::Succeed]),
        ]),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    drop(conn);
    let steps = chain.steps.clone();

    // `waiting` jobs are visible: listed by state, counted per queue.
    let listed = json_lines(&ok(&db, &["jobs", "list", "--state", "waiting", "--json"]).await);
    let ids: Vec<i64> = listed
        .iter()
        .map(|j| j["id"].as_i64().unwrap_or_else(|| panic!("{j}")))
        .collect();
    assert_eq!(ids, vec![steps[2], steps[1]], "{listed:?}");
    let queues = json_lines(&ok(&db, &["queues", "--json"]).await);
    assert_eq!(queues.len(), 1, "{queues:?}");
    assert_eq!(queues[0]["waiting"], 2, "{queues:?}");
    assert_eq!(queues[0]["scheduled"], 1, "{queues:?}");
    assert!(ok(&db, &["queues"]).await.contains("WAITING"));

    ok(&db, &["cancel", &steps[0].to_string()]).await;
    for id in &steps {
        assert_eq!(state(&db.pool, *id).await, "cancelled", "step {id}");
    }
    // Each later step's own trail names the step whose cancel ended it.
    for (step, upstream) in [(steps[1], steps[0]), (steps[2], steps[1])] {
        let (event, message) = workflow_event(&db.pool, step).await;
        assert_eq!(event, "cancelled");
        assert!(
            message.contains(&format!("batch member {upstream} was cancelled")),
            "{message}"
        );
    }
    // Every step's batch settled (complete, not success), counting its step as cancelled.
    let batches: Vec<(i32, i32, i32, bool, bool)> = sqlx::query_as(
        "SELECT b.succeeded, b.dead, b.cancelled, b.completed_at IS NOT NULL, b.succeeded_at IS NOT NULL
         FROM herald.batches b JOIN herald.jobs j ON j.batch_id = b.id
         WHERE j.id = ANY($1) ORDER BY j.id",
    )
    .bind(&steps)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(batches, vec![(0, 0, 1, true, false); 3]);
    // Nothing waits any more (a queue holding no live job is not listed).
    let queues = json_lines(&ok(&db, &["queues", "--json"]).await);
    assert!(queues.iter().all(|q| q["waiting"] == 0), "{queues:?}");
    let tree = ok(&db, &["workflows", "show", &chain.id.to_string()]).await;
    assert!(
        tree.contains(&format!(
            "cancelled: batch member {} was cancelled",
            steps[0]
        )),
        "{tree}"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_batch_enqueued_from_sql_carries_the_enqueuers_traceparent_to_every_job() {
    let db = TestDb::new().await;
    let mut one = worker(&db, "wf-trace");
    const BATCH_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
    const OWN_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    let traceparent = format!("00-{BATCH_TRACE}-b7ad6b7169203331-01");
    let own = format!("00-{OWN_TRACE}-00f067aa0ba902b7-01");
    let member = json!({"job_type": "test.scripted", "payload": {"key": "m1", "steps": [{"do": "succeed"}]}});
    let with_own = json!({"job_type": "test.scripted", "traceparent": own,
                          "payload": {"key": "m2", "steps": [{"do": "succeed"}]}});
    let callback = json!({"job_type": "test.scripted", "payload": {"key": "cb", "steps": [{"do": "succeed"}]}});
    let batch: i64 =
        sqlx::query_scalar("SELECT herald.enqueue_batch($1, on_complete => $2, traceparent => $3)")
            .bind(json!([member, with_own]))
            .bind(callback)
            .bind(&traceparent)
            .fetch_one(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("enqueue_batch: {e}"));
    let jobs: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM herald.jobs WHERE batch_id = $1
         UNION ALL SELECT job_id FROM herald.batch_waiters WHERE batch_id = $1 ORDER BY 1",
    )
    .bind(batch)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(jobs.len(), 3);
    ended(&db.pool, &jobs).await;
    // Each attempt joined the trace its job carried (the audit row's trace id).
    let traces: Vec<(i64, Option<String>)> = sqlx::query_as(
        "SELECT job_id, trace_id FROM herald.attempts WHERE job_id = ANY($1) ORDER BY job_id",
    )
    .bind(&jobs)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let expected: Vec<(i64, Option<String>)> = vec![
        (jobs[0], Some(BATCH_TRACE.to_owned())),
        (jobs[1], Some(OWN_TRACE.to_owned())),
        (jobs[2], Some(BATCH_TRACE.to_owned())),
    ];
    assert_eq!(traces, expected);
    // A malformed traceparent is the caller's error; nothing is inserted.
    let err =
        sqlx::query_scalar::<_, i64>("SELECT herald.enqueue_batch($1, traceparent => 'nope')")
            .bind(json!([
                json!({"job_type": "test.scripted", "payload": {"key": "x", "steps": []}})
            ]))
            .fetch_one(&db.pool)
            .await
            .err()
            .unwrap_or_else(|| panic!("a bad traceparent was accepted"));
    let code = err
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.into_owned()));
    assert_eq!(code.as_deref(), Some("HR004"), "{err}");
    one.kill_hard();
    db.finish().await;
}

#[tokio::test]
async fn retention_prunes_a_batch_and_its_workflow_records_once_none_of_its_jobs_is_left() {
    let db = TestDb::new().await;
    let p = &db.pool;
    // Batch `gone`: a member succeeded 10 days ago (3 days kept) and a callback cancelled
    // 40 days ago (30 days kept). Batch `kept`: its member succeeded an hour ago.
    let old_member = seed_job(p, "default", "succeeded", Some(10.0 * 86_400.0), &[]).await;
    let old_callback = seed_job(p, "default", "cancelled", Some(40.0 * 86_400.0), &[]).await;
    let new_member = seed_job(p, "default", "succeeded", Some(3_600.0), &[]).await;
    let (gone, kept): (i64, i64) = sqlx::query_as(
        "WITH b AS (INSERT INTO herald.batches (total, succeeded, completed_at, succeeded_at)
                    VALUES (1, 1, now(), now()), (1, 1, now(), now()) RETURNING id)
         SELECT min(id), max(id) FROM b",
    )
    .fetch_one(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "UPDATE herald.jobs SET batch_id = CASE WHEN id = $1 THEN $3 ELSE $4 END WHERE id IN ($1, $2);
         ",
    )
    .bind(old_member)
    .bind(new_member)
    .bind(gone)
    .bind(kept)
    .execute(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    sqlx::query(
        "INSERT INTO herald.batch_waiters (job_id, batch_id, on_event) VALUES ($1, $2, 'death');
         ",
    )
    .bind(old_callback)
    .bind(gone)
    .execute(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    for (job, batch, upstream) in [
        (old_callback, gone, old_member),
        (new_member, kept, new_member),
    ] {
        sqlx::query(
            "INSERT INTO herald.workflow_events (job_id, batch_id, event, upstream_job_id, message)
             VALUES ($1, $2, 'skipped', $3, 'seeded')",
        )
        .bind(job)
        .bind(batch)
        .bind(upstream)
        .execute(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let worker = InProcessWorker::start(&db, "wf-retention", &[]).await;
    let (batches, events): (i64, i64) = eventually(
        "a completed maintenance run",
        Duration::from_secs(30),
        || async {
            sqlx::query_as(
                "SELECT batches_removed, workflow_events_removed FROM herald.maintenance_runs
                 WHERE outcome = 'completed' ORDER BY id LIMIT 1",
            )
            .fetch_optional(p)
            .await
            .ok()
            .flatten()
        },
    )
    .await;
    worker.stop().await;
    assert_eq!((batches, events), (1, 1));
    let left: Vec<i64> = sqlx::query_scalar("SELECT id FROM herald.batches ORDER BY id")
        .fetch_all(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(left, vec![kept]);
    let records: Vec<i64> =
        sqlx::query_scalar("SELECT batch_id FROM herald.workflow_events ORDER BY id")
            .fetch_all(p)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(records, vec![kept]);
    let waiters: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.batch_waiters")
        .fetch_one(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiters, 0);
    db.finish().await;
}

#[tokio::test]
async fn a_member_cancelled_while_running_settles_its_batch_and_holds_the_success_callback() {
    let db = TestDb::new().await;
    let blocking = NewJob::new(&herald_tests::jobs::BlockingJob {
        key: "runs-until-cancelled".into(),
    })
    .unwrap_or_else(|e| panic!("build job: {e}"));
    let batch = enqueue_batch(
        &db.pool,
        Batch::new(vec![blocking, job("ok", vec![Step::Succeed])])
            .on_complete(job("on-complete", vec![Step::Succeed]))
            .on_success(job("on-success", vec![Step::Succeed])),
    )
    .await
    .unwrap_or_else(|e| panic!("enqueue: {e}"));
    let (complete, success) = (batch.callbacks[0], batch.callbacks[1]);
    let (running, ok_member) = (batch.members[0], batch.members[1]);
    // The blocking handler ignores the signal: it is aborted after a short grace.
    let mut env = test_env(&db.url, "wf-cancel");
    env.insert("HERALD_QUEUES".into(), "default=2".into());
    env.insert("HERALD_CANCEL_GRACE".into(), "1s".into());
    let mut worker = WorkerProcess::spawn(&env);
    ended(&db.pool, &[ok_member]).await;
    eventually(
        "the blocking member to run",
        Duration::from_secs(30),
        || async { (state(&db.pool, running).await == "running").then_some(()) },
    )
    .await;

    ok(
        &db,
        &["cancel", &running.to_string(), "--reason", "wrong campaign"],
    )
    .await;
    ended(&db.pool, &[running, complete]).await;
    assert_eq!(state(&db.pool, running).await, "cancelled");
    // Settled: counted as cancelled, `complete` released and run once; never `success`.
    assert_eq!(cancelled_count(&db.pool, batch.id).await, 1);
    assert_eq!(
        batch_row(&db.pool, batch.id).await,
        (1, 0, true, false, false)
    );
    assert_eq!(state(&db.pool, complete).await, "succeeded");
    assert_eq!(effects(&db.pool, complete, "start").await, 1);
    assert_eq!(state(&db.pool, success).await, "waiting");
    let (event, message) = workflow_event(&db.pool, success).await;
    assert_eq!(event, "held");
    assert!(
        message.contains(&format!(
            "batch member {running} was cancelled while it ran"
        )),
        "{message}"
    );
    worker.kill_hard();
    db.finish().await;
}
