//! Batch enqueue: many jobs in one statement.
//!
//! [`enqueue_many`] and [`enqueue_many_in`] insert a whole batch with ONE round trip
//! (the rows travel as arrays and are expanded with `unnest`), and return one
//! [`Enqueued`] per input job, in input order. Idempotency keys work as for a single
//! enqueue: a key matching a live job, or an earlier job of the same batch, yields that
//! job's id with `created = false`. Only when a concurrent enqueue with the same key
//! commits mid-statement does a second, smaller statement run for those rows.
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
    let budgets = jobs
        .iter()
        .map(NewJob::attempt_budget)
        .collect::<Result<Vec<_>, _>>()?;
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
