//! Workflows: batches with callbacks, and chains.
//!
//! A [`Batch`] is a set of member jobs plus callback jobs, each waiting for one
//! [`BatchEvent`]. [`enqueue_batch_in`] writes the whole batch in the caller's transaction
//! (all of it or nothing). The worker counts members as they end, in the statement that
//! records their final attempt, and releases each event's callbacks exactly once:
//!
//! | event | fires when | then |
//! |---|---|---|
//! | [`BatchEvent::Complete`] | every member has settled (succeeded or dead) | once, even if a dead member is replayed later |
//! | [`BatchEvent::Success`] | every member has succeeded | once; while a member is dead its success callbacks stay `waiting` (held), each with a `held` record naming the dead member and its error code (`herald.workflow_events`); replaying that member lets the batch succeed later |
//! | [`BatchEvent::Death`] | the first member dies | once |
//!
//! A [`Chain`] runs its steps one after another: each step is a batch of one whose success
//! releases the next. A step that dies holds the rest (the next step's trail says which
//! job died, with its error code); replaying it resumes the chain. A chord is a batch with
//! a success callback.
//!
//! Members and callbacks are ordinary jobs (own retries, own audit trail, the trace
//! context each [`NewJob`] carries); they cannot have idempotency keys.

use sqlx::{Connection, PgConnection, PgPool};

use crate::enqueue::{EnqueueError, NewJob};

/// What a batch callback waits for. See the module's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchEvent {
    /// Every member settled (succeeded or dead).
    Complete,
    /// Every member succeeded.
    Success,
    /// The first member died.
    Death,
}

impl BatchEvent {
    /// The name stored in `herald.batch_waiters.on_event`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Success => "success",
            Self::Death => "death",
        }
    }
}

/// A batch to enqueue: members and callbacks.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    members: Vec<NewJob>,
    callbacks: Vec<(BatchEvent, NewJob)>,
    description: Option<String>,
}

impl Batch {
    /// A batch of `members` (at least one, checked at enqueue), without callbacks.
    pub fn new(members: Vec<NewJob>) -> Self {
        Self {
            members,
            callbacks: Vec::new(),
            description: None,
        }
    }
    /// Adds `job` as a callback released when `event` fires.
    pub fn on(mut self, event: BatchEvent, job: NewJob) -> Self {
        self.callbacks.push((event, job));
        self
    }
    /// Adds a callback for [`BatchEvent::Complete`].
    pub fn on_complete(self, job: NewJob) -> Self {
        self.on(BatchEvent::Complete, job)
    }
    /// Adds a callback for [`BatchEvent::Success`] (a chord's callback).
    pub fn on_success(self, job: NewJob) -> Self {
        self.on(BatchEvent::Success, job)
    }
    /// Adds a callback for [`BatchEvent::Death`].
    pub fn on_death(self, job: NewJob) -> Self {
        self.on(BatchEvent::Death, job)
    }
    /// A label shown by `herald workflows show` (default none).
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = Some(text.into());
        self
    }
}

/// What [`enqueue_batch_in`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueuedBatch {
    /// The batch's id (`herald workflows show ID`).
    pub id: i64,
    /// The members' job ids, in input order.
    pub members: Vec<i64>,
    /// The callbacks' job ids, in the order they were added.
    pub callbacks: Vec<i64>,
}

/// Steps that run one after another; see the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    steps: Vec<NewJob>,
}

impl Chain {
    /// A chain of `steps` (at least one, checked at enqueue), run in order.
    pub fn new(steps: Vec<NewJob>) -> Self {
        Self { steps }
    }
}

/// What [`enqueue_chain_in`] created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnqueuedChain {
    /// The id of the first step's batch: `herald workflows show ID` follows the chain.
    pub id: i64,
    /// The steps' job ids, in order.
    pub steps: Vec<i64>,
}

/// Enqueues `batch` in a transaction of its own. See [`enqueue_batch_in`].
pub async fn enqueue_batch(pool: &PgPool, batch: Batch) -> Result<EnqueuedBatch, EnqueueError> {
    let mut conn = pool.acquire().await?;
    enqueue_batch_in(&mut conn, batch).await
}

/// Enqueues `batch` on `conn`, typically the caller's open transaction: the members and
/// callbacks exist only if it commits (on a plain connection, a transaction of its own).
/// Fails with [`EnqueueError::InvalidOption`] before touching the database when the
/// batch has no member (`members`), a job has an idempotency key (`idempotency_key`) or
/// breaks an enqueue rule; with [`EnqueueError::Database`] when an insert fails.
pub async fn enqueue_batch_in(
    conn: &mut PgConnection,
    batch: Batch,
) -> Result<EnqueuedBatch, EnqueueError> {
    check_jobs(
        batch
            .members
            .iter()
            .chain(batch.callbacks.iter().map(|(_, j)| j)),
    )?;
    let mut tx = conn.begin().await?;
    let id = insert_batch(&mut tx, batch.members.len(), batch.description.as_deref()).await?;
    let members = insert_jobs(&mut tx, &batch.members, Some(id), "pending").await?;
    let callback_jobs: Vec<NewJob> = batch.callbacks.iter().map(|(_, j)| j.clone()).collect();
    let callbacks = insert_jobs(&mut tx, &callback_jobs, None, "waiting").await?;
    let events: Vec<BatchEvent> = batch.callbacks.iter().map(|(e, _)| *e).collect();
    insert_waiters(&mut tx, id, &callbacks, &events).await?;
    tx.commit().await?;
    Ok(EnqueuedBatch {
        id,
        members,
        callbacks,
    })
}

/// Enqueues `chain` on `conn` (the caller's transaction, or one of its own): the first
/// step runs at once, each next step only after the previous one succeeded. Fails as
/// [`enqueue_batch_in`] does (`steps` when there is none).
pub async fn enqueue_chain_in(
    conn: &mut PgConnection,
    chain: Chain,
) -> Result<EnqueuedChain, EnqueueError> {
    check_jobs(chain.steps.iter())?;
    let mut tx = conn.begin().await?;
    let mut steps = Vec::with_capacity(chain.steps.len());
    let mut first = None;
    let mut previous: Option<i64> = None;
    for step in &chain.steps {
        let batch = insert_batch(&mut tx, 1, None).await?;
        let state = if previous.is_some() {
            "waiting"
        } else {
            "pending"
        };
        let ids = insert_jobs(&mut tx, std::slice::from_ref(step), Some(batch), state).await?;
        if let Some(upstream) = previous {
            insert_waiters(&mut tx, upstream, &ids, &[BatchEvent::Success]).await?;
        }
        steps.extend(ids);
        first.get_or_insert(batch);
        previous = Some(batch);
    }
    tx.commit().await?;
    let id = first.ok_or_else(|| EnqueueError::InvalidOption {
        option: "steps",
        message: "a chain needs at least one step".to_owned(),
    })?;
    Ok(EnqueuedChain { id, steps })
}

fn check_jobs<'a>(mut jobs: impl Iterator<Item = &'a NewJob>) -> Result<(), EnqueueError> {
    let mut any = false;
    jobs.try_for_each(|job| {
        any = true;
        job.attempt_budget()?;
        if job.idempotency_key.is_some() {
            return Err(EnqueueError::InvalidOption {
                option: "idempotency_key",
                message: "a workflow's jobs cannot have one".to_owned(),
            });
        }
        Ok(())
    })?;
    if any {
        Ok(())
    } else {
        Err(EnqueueError::InvalidOption {
            option: "members",
            message: "a workflow needs at least one job".to_owned(),
        })
    }
}

async fn insert_batch(
    conn: &mut PgConnection,
    total: usize,
    description: Option<&str>,
) -> Result<i64, EnqueueError> {
    let total = i32::try_from(total).map_err(|_| EnqueueError::InvalidOption {
        option: "members",
        message: format!("at most {} jobs in a batch", i32::MAX),
    })?;
    Ok(
        sqlx::query_file_scalar!("queries/workflow/insert_batch.sql", total, description)
            .fetch_one(&mut *conn)
            .await?,
    )
}

/// Inserts `jobs` as new rows in `state`, members of `batch_id` when given (the batch
/// enqueue's statement, `insert_new_jobs.sql`); their ids in input order.
async fn insert_jobs(
    conn: &mut PgConnection,
    jobs: &[NewJob],
    batch_id: Option<i64>,
    state: &str,
) -> Result<Vec<i64>, EnqueueError> {
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let budgets = crate::batch::budgets(jobs)?;
    Ok(crate::batch::insert_new(conn, jobs, &budgets, batch_id, state).await?)
}

async fn insert_waiters(
    conn: &mut PgConnection,
    batch_id: i64,
    jobs: &[i64],
    events: &[BatchEvent],
) -> Result<(), EnqueueError> {
    if jobs.is_empty() {
        return Ok(());
    }
    sqlx::query_file!(
        "queries/workflow/insert_waiters.sql",
        jobs,
        &events.iter().map(|e| e.as_str()).collect::<Vec<_>>() as _,
        batch_id
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job() -> NewJob {
        NewJob::from_json("t", "default", 3, json!({})).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_empty_batch_is_refused_before_the_database() {
        let err = check_jobs(Batch::new(Vec::new()).members.iter());
        assert!(matches!(
            err,
            Err(EnqueueError::InvalidOption {
                option: "members",
                ..
            })
        ));
    }

    #[test]
    fn a_workflow_job_with_an_idempotency_key_is_refused() {
        let batch = Batch::new(vec![job()]).on_success(job().idempotency_key("k"));
        let err = check_jobs(
            batch
                .members
                .iter()
                .chain(batch.callbacks.iter().map(|(_, j)| j)),
        );
        assert!(matches!(
            err,
            Err(EnqueueError::InvalidOption {
                option: "idempotency_key",
                ..
            })
        ));
    }
}
