//! Batch enqueue: many jobs in one statement.
//!
//! [`enqueue_many`] and [`enqueue_many_in`] insert a whole batch with ONE round trip
//! (the rows travel as arrays and are expanded with `unnest`), and return one
//! [`Enqueued`] per input job, in input order. Idempotency keys work as for a single
//! enqueue: a key matching a live job, or an earlier job of the same batch, yields that
//! job's id with `created = false`. Only when a concurrent enqueue with the same key
//! commits mid-statement does a second, smaller statement run for those rows.
//!
//! A batch without idempotency keys (the common one) takes a simpler statement: a plain
//! `INSERT ... SELECT` over the arrays, and `enqueue_many` sends it alone, without
//! `BEGIN`/`COMMIT` (one statement is atomic on its own): one round trip per batch.
//!
//! The batch is all or nothing: `enqueue_many_in` on the caller's transaction commits or
//! rolls back with it; `enqueue_many` runs in a transaction of its own.

use sqlx::{PgConnection, PgPool};

use crate::enqueue::{EnqueueError, Enqueued, NewJob};

/// How many times rows whose key was taken by a concurrent enqueue are tried again.
const RETRIES: usize = 3;

/// Enqueues `jobs` in one transaction of its own; returns their ids in input order.
/// Fails with [`EnqueueError::InvalidOption`] before touching the database when any job
/// breaks an enqueue rule ([`crate::rules`]), with [`EnqueueError::Database`] when the
/// insert fails and with [`EnqueueError::Contended`] when concurrent enqueues keep racing
/// a row's idempotency key (then no job of the batch exists).
pub async fn enqueue_many(pool: &PgPool, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>, EnqueueError> {
    if jobs.iter().all(|j| j.idempotency_key.is_none()) {
        let budgets = budgets(&jobs)?;
        let mut conn = pool.acquire().await?;
        return Ok(created(
            insert_new(&mut conn, &jobs, &budgets, None, "pending").await?,
        ));
    }
    let mut tx = pool.begin().await?;
    let out = enqueue_many_in(&mut tx, jobs).await?;
    tx.commit().await?;
    Ok(out)
}

/// Enqueues `jobs` on `conn`, typically the caller's open transaction: they exist only
/// if it commits. Returns their ids in input order.
pub async fn enqueue_many_in(
    conn: &mut PgConnection,
    jobs: Vec<NewJob>,
) -> Result<Vec<Enqueued>, EnqueueError> {
    let budgets = budgets(&jobs)?;
    if jobs.iter().all(|j| j.idempotency_key.is_none()) {
        return Ok(created(
            insert_new(conn, &jobs, &budgets, None, "pending").await?,
        ));
    }
    let mut results: Vec<Option<Enqueued>> = vec![None; jobs.len()];
    let mut todo: Vec<usize> = (0..jobs.len()).collect();
    for _ in 0..RETRIES {
        if todo.is_empty() {
            break;
        }
        let rows = insert_batch(conn, &jobs, &budgets, &todo).await?;
        let mut missing = Vec::new();
        for (index, row) in todo.iter().copied().zip(rows) {
            match row {
                (Some(id), created) => results[index] = Some(Enqueued { id, created }),
                (None, _) => missing.push(index),
            }
        }
        todo = missing;
    }
    results
        .into_iter()
        .map(|r| r.ok_or(EnqueueError::Contended))
        .collect()
}

pub(crate) fn budgets(jobs: &[NewJob]) -> Result<Vec<i32>, EnqueueError> {
    jobs.iter().map(NewJob::attempt_budget).collect()
}

/// `insert_new_jobs.sql`: `jobs` (none with an idempotency key) as new rows in `state`,
/// members of `batch_id` when given; their ids in input order. Also how a workflow
/// enqueues its members and callbacks (`crate::workflow`).
pub(crate) async fn insert_new(
    conn: &mut PgConnection,
    jobs: &[NewJob],
    budgets: &[i32],
    batch_id: Option<i64>,
    state: &str,
) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids: Vec<i64> = sqlx::query_file_scalar!(
        "queries/insert_new_jobs.sql",
        &jobs.iter().map(|j| j.job_type.as_str()).collect::<Vec<_>>() as _,
        &jobs.iter().map(|j| j.queue.as_str()).collect::<Vec<_>>() as _,
        &jobs.iter().map(|j| j.payload.clone()).collect::<Vec<_>>(),
        &jobs.iter().map(|j| j.priority).collect::<Vec<_>>(),
        &jobs.iter().map(|j| j.run_at).collect::<Vec<_>>() as _,
        budgets,
        &jobs
            .iter()
            .map(|j| j.trace_context.as_deref())
            .collect::<Vec<_>>() as _,
        batch_id,
        state,
        &jobs
            .iter()
            .map(|j| j.flow_key.as_deref())
            .collect::<Vec<_>>() as _
    )
    .fetch_all(&mut *conn)
    .await?;
    if ids.len() != jobs.len() {
        return Err(sqlx::Error::Protocol(format!(
            "enqueue returned {} ids for {} jobs",
            ids.len(),
            jobs.len()
        )));
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Every id as a newly created job.
fn created(ids: Vec<i64>) -> Vec<Enqueued> {
    ids.into_iter()
        .map(|id| Enqueued { id, created: true })
        .collect()
}

async fn insert_batch(
    conn: &mut PgConnection,
    jobs: &[NewJob],
    budgets: &[i32],
    which: &[usize],
) -> Result<Vec<(Option<i64>, bool)>, sqlx::Error> {
    let pick = |i: &usize| &jobs[*i];
    // `as _`: the macro checks an array parameter against `&[String]` (or `&[T]`); these
    // bind borrowed `&str`s and `Option`s without copying, and the statement casts each
    // array to its type (`$1::text[]`, ...).
    let rows: Vec<(Option<i64>, bool)> = sqlx::query_file!(
        "queries/enqueue_many.sql",
        &which
            .iter()
            .map(|i| pick(i).job_type.as_str())
            .collect::<Vec<_>>() as _,
        &which
            .iter()
            .map(|i| pick(i).queue.as_str())
            .collect::<Vec<_>>() as _,
        &which
            .iter()
            .map(|i| pick(i).payload.clone())
            .collect::<Vec<_>>(),
        &which.iter().map(|i| pick(i).priority).collect::<Vec<_>>(),
        &which.iter().map(|i| pick(i).run_at).collect::<Vec<_>>() as _,
        &which.iter().map(|i| budgets[*i]).collect::<Vec<_>>(),
        &which
            .iter()
            .map(|i| pick(i).idempotency_key.as_deref())
            .collect::<Vec<_>>() as _,
        &which
            .iter()
            .map(|i| pick(i).trace_context.as_deref())
            .collect::<Vec<_>>() as _,
        &which
            .iter()
            .map(|i| pick(i).flow_key.as_deref())
            .collect::<Vec<_>>() as _
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|row| (row.id, row.created))
    .collect();
    if rows.len() != which.len() {
        return Err(sqlx::Error::Protocol(format!(
            "batch enqueue returned {} rows for {} jobs",
            rows.len(),
            which.len()
        )));
    }
    Ok(rows)
}
