//! An attempt is acknowledged (its concurrency slot freed) only after the statement that
//! records it has committed.
//!
//! With concurrency 1 the next job can start only once the previous attempt's slot is
//! free, i.e. once its ack resolved. So: (1) each job's start records how many attempts
//! had committed at that moment (a trigger, no clock): the k-th job to start must see at
//! least k - 1; the audit table is locked at first, so the first attempt's commit is
//! held back (observed as its statement waiting on the lock) and no second job may start
//! meanwhile; (2) when a worker is killed in the middle of a stream of jobs, every job
//! with a successor that started must already be audited. An ack resolved before its
//! commit fails both.

use std::time::Duration;

use herald_tests::db::TestDb;
use herald_tests::jobs::Step;
use herald_tests::wait::eventually;
use herald_tests::workers::test_env;

use crate::enqueue_scripted;
use crate::process::WorkerProcess;

async fn started_in_order(db: &TestDb) -> Vec<i64> {
    sqlx::query_scalar("SELECT job_id FROM public.test_effects WHERE event = 'start' ORDER BY id")
        .fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("effects: {e}"))
}

/// Makes every `start` effect record how many attempts had committed when it was written.
async fn record_audited_before_each_start(db: &TestDb) {
    sqlx::raw_sql(
        "ALTER TABLE public.test_effects ADD COLUMN audited_before bigint;
         CREATE FUNCTION public.count_audited() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             NEW.audited_before := (SELECT count(*) FROM herald.attempts);
             RETURN NEW;
         END $$;
         CREATE TRIGGER count_audited BEFORE INSERT ON public.test_effects
             FOR EACH ROW WHEN (NEW.event = 'start') EXECUTE FUNCTION public.count_audited();",
    )
    .execute(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("trigger: {e}"));
}

/// Starts (in order) whose predecessors had not all committed: `(position, job, seen)`.
async fn started_before_predecessors_committed(db: &TestDb) -> Vec<(i64, i64, i64)> {
    sqlx::query_as(
        "SELECT k, job_id, audited_before FROM (
             SELECT row_number() OVER (ORDER BY id) AS k, job_id, audited_before
             FROM public.test_effects WHERE event = 'start') s
         WHERE audited_before < k - 1",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("starts: {e}"))
}

/// Whether a statement waits for a lock on `herald.attempts` (the held-back commit).
async fn audit_insert_waits(db: &TestDb) -> bool {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM pg_locks
                        WHERE relation = 'herald.attempts'::regclass AND NOT granted)",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("pg_locks: {e}"))
}

async fn unaudited(db: &TestDb, ids: &[i64]) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT id FROM unnest($1::bigint[]) AS id
         WHERE NOT EXISTS (SELECT 1 FROM herald.attempts a WHERE a.job_id = id AND a.attempt = 1)",
    )
    .bind(ids)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("audit lookup: {e}"))
}

#[tokio::test]
async fn no_slot_is_freed_before_its_attempt_commits_and_a_kill_loses_no_acked_attempt() {
    let db = TestDb::new().await;
    record_audited_before_each_start(&db).await;
    for n in 0..150 {
        enqueue_scripted(&db.pool, &format!("a{n}"), vec![Step::Succeed], 3).await;
    }
    // Block every audit insert (reads still work) before the worker starts.
    let mut blocker = db
        .pool
        .begin()
        .await
        .unwrap_or_else(|e| panic!("begin: {e}"));
    sqlx::query("LOCK TABLE herald.attempts IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap_or_else(|e| panic!("lock: {e}"));
    let mut env = test_env(&db.url, "acker");
    env.insert("HERALD_QUEUES".into(), "default=1".into());
    // No maintenance: creating an audit partition would wait on the blocker's lock too
    // (and be taken for the held-back commit), and moving this test's rows from the
    // DEFAULT partition into it would race the trigger's count (a statement planned
    // before the partition is attached does not scan it: README, Retention).
    env.insert("HERALD_MAINTENANCE_ENABLED".into(), "false".into());
    let mut worker = WorkerProcess::spawn(&env);
    eventually(
        "the first job to start",
        Duration::from_secs(30),
        || async { (!started_in_order(&db).await.is_empty()).then_some(()) },
    )
    .await;
    eventually(
        "the first attempt's commit to wait on the lock",
        Duration::from_secs(30),
        || async { audit_insert_waits(&db).await.then_some(()) },
    )
    .await;
    assert_eq!(
        started_in_order(&db).await.len(),
        1,
        "a second job started while the first attempt's commit was blocked"
    );

    blocker
        .rollback()
        .await
        .unwrap_or_else(|e| panic!("unlock: {e}"));
    eventually("40 jobs to start", Duration::from_secs(30), || async {
        (started_in_order(&db).await.len() >= 40).then_some(())
    })
    .await;
    worker.kill_hard();

    let early = started_before_predecessors_committed(&db).await;
    assert!(
        early.is_empty(),
        "jobs that started before every earlier attempt had committed (position, job, attempts committed): {early:?}"
    );

    let started = started_in_order(&db).await;
    let (last, acked) = started
        .split_last()
        .unwrap_or_else(|| panic!("nothing started"));
    let lost = unaudited(&db, acked).await;
    assert!(
        lost.is_empty(),
        "jobs whose successor started (so their ack had resolved) but with no audit row: {lost:?} (last started: {last})"
    );
    db.finish().await;
}
