//! Batch enqueue: one statement per batch, ids in input order, idempotency keys honoured,
//! all or nothing inside the caller's transaction.

use std::collections::{BTreeSet, HashMap};

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::{enqueue_many, enqueue_many_in};
use herald_testkit::{JobFilter, refute_enqueued};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::job_count;

fn job(key: &str) -> NewJob {
    NewJob::new(&ScriptedJob::new(key, vec![Step::Succeed])).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_batch_of_ten_thousand_jobs_is_enqueued_in_one_call_with_ids_in_input_order() {
    let db = TestDb::new().await;
    let jobs: Vec<NewJob> = (0..10_000)
        .map(|i| job(&format!("batch-{i}")).priority((i % 7) as i16))
        .collect();
    let enqueued = enqueue_many(&db.pool, jobs)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(enqueued.len(), 10_000);
    assert!(enqueued.iter().all(|e| e.created));
    let distinct: BTreeSet<i64> = enqueued.iter().map(|e| e.id).collect();
    assert_eq!(distinct.len(), 10_000);
    assert_eq!(job_count(&db.pool).await, 10_000);
    let stored: HashMap<i64, (String, i16)> = sqlx::query_as::<_, (i64, String, i16)>(
        "SELECT id, payload->>'key', priority FROM herald.jobs",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .into_iter()
    .map(|(id, key, priority)| (id, (key, priority)))
    .collect();
    for (i, e) in enqueued.iter().enumerate() {
        assert_eq!(
            stored.get(&e.id),
            Some(&(format!("batch-{i}"), (i % 7) as i16)),
            "job {i}"
        );
    }
    db.finish().await;
}

#[tokio::test]
async fn a_batch_honours_idempotency_keys_against_live_jobs_and_within_itself() {
    let db = TestDb::new().await;
    let live = enqueue(&db.pool, job("live").idempotency_key("k1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let batch = vec![
        job("a").idempotency_key("k1"),
        job("b").idempotency_key("k2"),
        job("c").idempotency_key("k2"),
        job("d"),
    ];
    let out = enqueue_many(&db.pool, batch)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<(i64, bool)> = out.iter().map(|e| (e.id, e.created)).collect();
    assert_eq!(got[0], (live.id, false));
    assert!(got[1].1);
    assert_eq!(got[2], (got[1].0, false));
    assert!(got[3].1 && got[3].0 != got[1].0);
    assert_eq!(job_count(&db.pool).await, 3);
    db.finish().await;
}

#[tokio::test]
async fn a_batch_in_a_rolled_back_transaction_leaves_no_job() {
    let db = TestDb::new().await;
    let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let out = enqueue_many_in(&mut tx, (0..50).map(|i| job(&format!("rb-{i}"))).collect())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out.len(), 50);
    tx.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    refute_enqueued(&db.pool, &JobFilter::new().any_state()).await;
    db.finish().await;
}

#[tokio::test]
async fn a_batch_with_an_invalid_option_is_rejected_whole_before_the_database() {
    let db = TestDb::new().await;
    let out = enqueue_many(&db.pool, vec![job("ok"), job("bad").max_attempts(0)]).await;
    assert!(
        matches!(
            out,
            Err(herald_jobs::EnqueueError::InvalidOption {
                option: "max_attempts",
                ..
            })
        ),
        "{out:?}"
    );
    refute_enqueued(&db.pool, &JobFilter::new().any_state()).await;
    db.finish().await;
}

#[tokio::test]
async fn an_empty_batch_enqueues_nothing() {
    let db = TestDb::new().await;
    let out = enqueue_many(&db.pool, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.is_empty());
    refute_enqueued(&db.pool, &JobFilter::new().any_state()).await;
    db.finish().await;
}

#[tokio::test]
async fn concurrent_batches_sharing_a_key_yield_one_job_for_it() {
    let db = TestDb::new().await;
    let mut tasks = Vec::new();
    for t in 0..6 {
        let pool = db.pool.clone();
        tasks.push(tokio::spawn(async move {
            let batch = vec![job(&format!("own-{t}")), job("shared").idempotency_key("k")];
            enqueue_many(&pool, batch).await.map(|out| out[1].id)
        }));
    }
    let mut shared = BTreeSet::new();
    for task in tasks {
        shared.insert(
            task.await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert_eq!(job_count(&db.pool).await, 7);
    db.finish().await;
}
