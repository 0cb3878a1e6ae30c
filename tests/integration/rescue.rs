//! A worker killed with SIGKILL mid-job: its attempt is rescued and audited `abandoned`.

use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue_in};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::{eventually, settled, state, trail};
use herald_tests::workers::{InProcessWorker, test_env};

use crate::process::WorkerProcess;
use crate::{effects, enqueue_scripted};

async fn kill_worker_mid_attempt(db: &TestDb, id: i64) {
    let mut victim = WorkerProcess::spawn(&test_env(&db.url, "victim"));
    eventually("the attempt to start", Duration::from_secs(20), || async {
        (effects(&db.pool, id, "start").await >= 1).then_some(())
    })
    .await;
    victim.kill_hard();
}

#[tokio::test]
async fn a_killed_workers_job_is_rescued_rerun_and_audited_abandoned() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "k",
        vec![Step::Sleep { ms: 2_500 }, Step::Succeed],
        3,
    )
    .await;
    kill_worker_mid_attempt(&db, id).await;
    assert_eq!(state(&db.pool, id).await, "running");

    let rescuer = InProcessWorker::start(&db, "rescuer", &[]).await;
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    rescuer.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].worker_id.as_str()),
        ("abandoned", "victim")
    );
    assert_eq!(rows[0].error_code.as_deref(), Some("WORKER_LOST"));
    assert_eq!(rows[0].job_state, "retrying");
    assert_eq!(
        (rows[1].outcome.as_str(), rows[1].worker_id.as_str()),
        ("succeeded", "rescuer")
    );
    assert_eq!(
        effects(&db.pool, id, "done").await,
        1,
        "the killed attempt never completed its work"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_job_whose_worker_dies_on_its_last_attempt_ends_dead() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(&db.pool, "last", vec![Step::Sleep { ms: 2_500 }], 1).await;
    kill_worker_mid_attempt(&db, id).await;

    let rescuer = InProcessWorker::start(&db, "rescuer", &[]).await;
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    rescuer.stop().await;

    let rows = trail(&db.pool, id).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].job_state.as_str()),
        ("abandoned", "dead")
    );
    assert_eq!(state(&db.pool, id).await, "dead");
    assert_eq!(
        effects(&db.pool, id, "start").await,
        1,
        "a dead job is never run again"
    );
    db.finish().await;
}

#[tokio::test]
async fn a_live_workers_long_job_is_never_rescued() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(&db.pool, "long", vec![Step::Sleep { ms: 2_500 }], 3).await;
    let short_lease = [
        ("HERALD_LEASE", "1s"),
        ("HERALD_HEARTBEAT_INTERVAL", "200ms"),
        ("HERALD_RESCUE_INTERVAL", "300ms"),
    ];
    let a = InProcessWorker::start(&db, "a", &short_lease).await;
    let b = InProcessWorker::start(&db, "b", &short_lease).await;
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    a.stop().await;
    b.stop().await;

    let outcomes: Vec<String> = trail(&db.pool, id)
        .await
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(
        outcomes,
        ["succeeded"],
        "heartbeats keep a running job's lease alive past its length"
    );
    assert_eq!(effects(&db.pool, id, "start").await, 1);
    db.finish().await;
}

#[tokio::test]
async fn a_restarted_worker_rescues_what_its_predecessor_held_without_waiting_for_the_lease() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "held",
        vec![Step::Sleep { ms: 2_500 }, Step::Succeed],
        3,
    )
    .await;
    let mut env = test_env(&db.url, "fixed-id");
    env.insert("HERALD_LEASE".into(), "10m".into());
    let mut first = WorkerProcess::spawn(&env);
    eventually("the attempt to start", Duration::from_secs(20), || async {
        (effects(&db.pool, id, "start").await >= 1).then_some(())
    })
    .await;
    first.kill_hard();

    let mut second = WorkerProcess::spawn(&env);
    // Far sooner than the 10-minute lease: the restart itself rescued the job.
    settled(&db.pool, &[id], Duration::from_secs(30)).await;
    second.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(second.wait(Duration::from_secs(20)).success());

    let outcomes: Vec<String> = trail(&db.pool, id)
        .await
        .into_iter()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes, ["abandoned", "succeeded"]);
    db.finish().await;
}

/// A row running under a live worker's id that its process does not hold: what a
/// predecessor's claim committing after its successor's start-up rescue leaves, or a
/// claim that committed while its answer was lost. Nobody runs it, so its lease must run
/// out and rescue must take it, even though a process with that id is alive and
/// heartbeating. (Heartbeats by worker id kept such a row alive forever.)
#[tokio::test]
async fn a_job_running_under_a_live_workers_id_but_not_held_by_it_is_rescued() {
    let db = TestDb::new().await;
    let short_lease = [
        ("HERALD_LEASE", "1s"),
        ("HERALD_HEARTBEAT_INTERVAL", "150ms"),
        ("HERALD_RESCUE_INTERVAL", "200ms"),
    ];
    let worker = InProcessWorker::start(&db, "alive", &short_lease).await;
    // A job of its own keeps it heartbeating through the orphan's lease, and shows it
    // is past its start-up rescue.
    let busy = enqueue_scripted(&db.pool, "busy", vec![Step::Sleep { ms: 2_500 }], 3).await;
    eventually("the busy job to start", Duration::from_secs(20), || async {
        (effects(&db.pool, busy, "start").await >= 1).then_some(())
    })
    .await;

    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let job = NewJob::new(&ScriptedJob::new("orphan", vec![Step::Succeed]))
        .unwrap_or_else(|e| panic!("{e}"))
        .max_attempts(3);
    let orphan = enqueue_in(&mut tx, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    sqlx::query(
        "UPDATE herald.jobs SET state = 'running', attempt = 1, locked_by = 'alive',
                claimed_at = now(), heartbeat_at = now()
         WHERE id = $1",
    )
    .bind(orphan)
    .execute(&mut *tx)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));

    settled(&db.pool, &[orphan, busy], Duration::from_secs(30)).await;
    worker.stop().await;
    let rows = trail(&db.pool, orphan).await;
    assert_eq!(
        rows.iter()
            .map(|r| (r.outcome.as_str(), r.worker_id.as_str()))
            .collect::<Vec<_>>(),
        [("abandoned", "alive"), ("succeeded", "alive")],
        "{rows:?}"
    );
    let busy_trail = trail(&db.pool, busy).await;
    assert_eq!(busy_trail.len(), 1, "{busy_trail:?}");
    assert!(
        rows[0].finished_at < busy_trail[0].finished_at,
        "the orphan was rescued while its worker id was alive and heartbeating: {rows:?} {busy_trail:?}"
    );
    assert_eq!(rows[0].error_code.as_deref(), Some("WORKER_LOST"));
    assert_eq!(effects(&db.pool, orphan, "done").await, 1);
    db.finish().await;
}
