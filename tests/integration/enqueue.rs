//! Enqueueing: inside the caller's transaction, and idempotently.

use herald_jobs::enqueue::{NewJob, enqueue, enqueue_in};
use herald_testkit::{AttemptOutcome, DrainOptions, JobFilter, JobState, drain, refute_enqueued};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, registry};
use herald_tests::wait::{job_count, state};
use sqlx::PgPool;

fn job(key: &str) -> NewJob {
    NewJob::new(&ScriptedJob::new(key, vec![Step::Succeed])).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs every due job in-process through the worker's attempt pipeline; returns each
/// attempt's (job id, outcome).
async fn run_due_jobs(pool: &PgPool) -> Vec<(i64, AttemptOutcome)> {
    drain(pool, &registry(pool.clone()), DrainOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .attempts
        .into_iter()
        .map(|a| (a.job_id, a.outcome))
        .collect()
}

#[tokio::test]
async fn a_job_enqueued_in_a_rolled_back_transaction_does_not_exist() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    enqueue_in(&mut tx, job("rolled-back"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    refute_enqueued(&db.pool, &JobFilter::new().any_state()).await;
    db.finish().await;
}

#[tokio::test]
async fn a_job_enqueued_in_a_committed_transaction_runs() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let id = enqueue_in(&mut tx, job("committed"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    refute_enqueued(&db.pool, &JobFilter::new().any_state()).await;
    tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        run_due_jobs(&db.pool).await,
        vec![(id, AttemptOutcome::Succeeded)]
    );
    assert_eq!(state(&db.pool, id).await, JobState::Succeeded.as_str());
    db.finish().await;
}

#[tokio::test]
async fn an_idempotency_key_yields_one_job_even_under_concurrent_enqueues() {
    let db = TestDb::new().await;
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            enqueue(&pool, job("same").idempotency_key("order-42"))
                .await
                .map(|e| e.id)
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        ids.push(
            task.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(job_count(&db.pool).await, 1);
    db.finish().await;
}

#[tokio::test]
async fn an_idempotency_key_is_free_again_once_its_job_has_ended() {
    let db = TestDb::new().await;
    let first = enqueue(&db.pool, job("a").idempotency_key("k"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let again = enqueue(&db.pool, job("a").idempotency_key("k"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((again.id, again.created), (first.id, false));
    assert_eq!(
        run_due_jobs(&db.pool).await,
        vec![(first.id, AttemptOutcome::Succeeded)]
    );
    let after = enqueue(&db.pool, job("a").idempotency_key("k"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(after.created && after.id != first.id);
    db.finish().await;
}

#[tokio::test]
async fn a_key_whose_insert_keeps_finding_no_row_is_reported_as_contended() {
    let db = TestDb::new().await;
    // Stand-in for a race lost every time: the insert writes nothing and the lookup
    // finds no live job with the key, as when concurrent enqueues keep committing.
    for sql in [
        "CREATE FUNCTION public.herald_test_skip_insert() RETURNS trigger LANGUAGE plpgsql \
         AS $$ BEGIN RETURN NULL; END $$",
        "CREATE TRIGGER skip_insert BEFORE INSERT ON herald.jobs \
         FOR EACH ROW EXECUTE FUNCTION public.herald_test_skip_insert()",
    ] {
        sqlx::query(sql)
            .execute(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let err = enqueue(&db.pool, job("contended").idempotency_key("order-7")).await;
    assert!(
        matches!(err, Err(herald_jobs::EnqueueError::Contended)),
        "{err:?}"
    );
    db.finish().await;
}
