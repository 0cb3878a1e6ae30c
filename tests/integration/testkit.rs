//! The public testing API (`herald-testkit`): `TestDatabase`, `perform`, `drain`,
//! `assert_enqueued` / `refute_enqueued`, tested as a user's tests would use them.

use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::{AttemptInfo, EnqueueError, ErrorCode, FailureClass, Job, JobError, RetryPolicy};
use herald_testkit::{
    AttemptOutcome, DeadReason, DrainError, DrainOptions, JobFilter, JobState, PerformOptions,
    Performed, TestDatabase, assert_enqueued, drain, enqueued_jobs, perform, perform_registered,
    perform_with, refute_enqueued,
};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step, fail, registry};
use herald_worker::Registry;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use crate::{effects, enqueue_scripted};

/// A job that needs no database: `outcome` says how its attempt ends.
#[derive(Debug, Serialize, Deserialize)]
struct Charge {
    outcome: String,
}

impl Charge {
    fn new(outcome: &str) -> Self {
        Self {
            outcome: outcome.to_owned(),
        }
    }
}

impl Job for Charge {
    const KIND: &'static str = "test.charge";
    const MAX_ATTEMPTS: u32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(5);
    type Context = u32;

    fn validate(&self) -> Result<(), JobError> {
        if self.outcome.is_empty() {
            return Err(JobError::validation("outcome", "must not be empty"));
        }
        Ok(())
    }

    async fn perform(self, cents: u32, info: AttemptInfo) -> Result<(), JobError> {
        match self.outcome.as_str() {
            "ok" if cents > 0 && info.worker_id == herald_testkit::perform::INLINE_WORKER_ID => {
                Ok(())
            }
            "ok" => Err(JobError::internal("unexpected context", None)),
            "declined" => Err(JobError::permission_denied("card declined")),
            "gateway down" => Err(JobError::upstream("gateway down", None)),
            "slow down" => Err(JobError::rate_limited(
                "gateway says 429",
                Some(Duration::from_secs(42)),
            )),
            other => panic!("charge cannot handle {other}"),
        }
    }
}

fn exact_backoff() -> RetryPolicy {
    RetryPolicy {
        base: Duration::from_secs(2),
        max: Duration::from_secs(60),
        jitter: 0.0,
    }
}

async fn perform_charge(outcome: &str) -> Performed {
    perform(&Charge::new(outcome), 500)
        .await
        .unwrap_or_else(|e| panic!("perform: {e}"))
}

#[tokio::test]
async fn perform_runs_the_handler_inline_with_its_context_and_reports_success() {
    assert_eq!(perform_charge("ok").await, Performed::Succeeded);
    assert_eq!(Performed::Succeeded.outcome(), "succeeded");
}

#[tokio::test]
async fn perform_reports_a_retryable_error_as_a_retry_with_the_backoff_delay() {
    let options = PerformOptions::default().attempt(2).retry(exact_backoff());
    let verdict = perform_with(&Charge::new("gateway down"), 500, options).await;
    match verdict {
        Ok(Performed::Retry {
            code,
            delay,
            panicked,
            message,
        }) => {
            assert_eq!(code, ErrorCode::UpstreamUnavailable);
            assert_eq!(delay.as_secs(), 4, "attempt 2 of base 2 s: {delay:?}");
            assert!(!panicked);
            assert!(message.contains("gateway down"), "{message}");
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    let limited = perform_charge("slow down").await;
    assert!(
        matches!(limited, Performed::Retry { code: ErrorCode::RateLimited, delay, .. } if delay.as_secs() == 42),
        "the upstream's Retry-After is the delay: {limited:?}"
    );
}

#[tokio::test]
async fn perform_reports_a_terminal_error_as_dead_on_the_first_attempt() {
    let verdict = perform_charge("declined").await;
    assert_eq!(verdict.code(), Some(ErrorCode::PermissionDenied));
    assert!(
        matches!(
            verdict,
            Performed::Dead {
                class: FailureClass::Terminal,
                reason: DeadReason::TerminalError,
                panicked: false,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn perform_on_the_last_attempt_reports_a_retryable_error_as_dead_exhausted() {
    let verdict = perform_with(
        &Charge::new("gateway down"),
        500,
        PerformOptions::default().attempt(3),
    )
    .await
    .unwrap_or_else(|e| panic!("perform: {e}"));
    assert!(
        matches!(
            verdict,
            Performed::Dead {
                code: ErrorCode::UpstreamUnavailable,
                class: FailureClass::Retryable,
                reason: DeadReason::AttemptsExhausted,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn perform_catches_a_panic_as_a_retryable_internal_error_with_its_message() {
    let verdict = perform_charge("a refund").await;
    match verdict {
        Performed::Retry {
            code: ErrorCode::Internal,
            panicked: true,
            message,
            ..
        } => assert!(
            message.contains("charge cannot handle a refund"),
            "{message}"
        ),
        other => panic!("expected a panic retried as INTERNAL_ERROR, got {other:?}"),
    }
}

/// A job whose handler never finishes, with a short timeout.
#[derive(Debug, Serialize, Deserialize)]
struct Hang {}

impl Job for Hang {
    const KIND: &'static str = "test.hang";
    const TIMEOUT: Duration = Duration::from_millis(100);
    type Context = ();

    async fn perform(self, (): (), _: AttemptInfo) -> Result<(), JobError> {
        std::future::pending().await
    }
}

#[tokio::test]
async fn perform_times_out_a_handler_that_overruns_its_timeout() {
    let verdict = perform(&Hang {}, ())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        matches!(
            verdict,
            Performed::Retry {
                code: ErrorCode::Timeout,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[tokio::test]
async fn perform_refuses_a_job_that_enqueue_would_refuse() {
    let refused = perform(&Charge::new(""), 500).await;
    assert!(
        matches!(refused, Err(EnqueueError::Invalid(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn perform_registered_kills_an_unknown_type_or_undecodable_payload_with_validation_error() {
    let registry = Registry::new().register::<Charge>(500);
    for (job_type, payload) in [
        ("test.no_such_job", json!({ "outcome": "ok" })),
        ("test.charge", json!({ "outcome": 7 })),
    ] {
        let verdict =
            perform_registered(&registry, job_type, payload, PerformOptions::default()).await;
        assert!(
            matches!(
                verdict,
                Performed::Dead {
                    code: ErrorCode::Validation,
                    reason: DeadReason::TerminalError,
                    ..
                }
            ),
            "{job_type}: {verdict:?}"
        );
    }
}

/// The audit rows of `id`: (attempt, outcome, error code).
async fn audit_rows(pool: &PgPool, id: i64) -> Vec<(i32, String, Option<String>)> {
    sqlx::query_as(
        "SELECT attempt, outcome, error_code FROM herald.attempts WHERE job_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("audit rows: {e}"))
}

#[tokio::test]
async fn drain_with_scheduled_runs_a_failing_job_to_success_and_audits_each_attempt() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(
        &db.pool,
        "flaky",
        vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
        3,
    )
    .await;

    let options = DrainOptions::all_queues().with_scheduled(true);
    let drained = drain(&db.pool, &registry(db.pool.clone()), options)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let seen: Vec<_> = drained
        .of_job(id)
        .iter()
        .map(|a| (a.attempt, a.outcome.clone(), a.error_code))
        .collect();
    assert_eq!(
        seen,
        vec![
            (
                1,
                AttemptOutcome::Retrying,
                Some(ErrorCode::UpstreamUnavailable)
            ),
            (2, AttemptOutcome::Succeeded, None),
        ]
    );
    assert_eq!(drained.rounds, 2, "one round per attempt");
    assert_eq!(
        audit_rows(&db.pool, id).await,
        vec![
            (
                1,
                "retrying".to_owned(),
                Some("UPSTREAM_UNAVAILABLE".to_owned())
            ),
            (2, "succeeded".to_owned(), None),
        ]
    );
    let runs = (
        effects(&db.pool, id, "start").await,
        effects(&db.pool, id, "done").await,
    );
    assert_eq!(
        runs,
        (2, 1),
        "the handler really ran twice and completed once"
    );
    assert_enqueued(
        &db.pool,
        &JobFilter::of::<ScriptedJob>().state(JobState::Succeeded),
    )
    .await;
    db.finish().await;
}

#[tokio::test]
async fn drain_without_scheduled_leaves_a_retry_waiting_for_its_backoff() {
    let db = TestDb::new().await;
    let id = enqueue_scripted(&db.pool, "later", vec![fail("TIMEOUT"), Step::Succeed], 3).await;

    let drained = drain(
        &db.pool,
        &registry(db.pool.clone()),
        DrainOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(drained.attempts.len(), 1, "{drained:?}");
    assert_eq!(drained.count(AttemptOutcome::Retrying), 1);
    let waiting = assert_enqueued(&db.pool, &JobFilter::of::<ScriptedJob>()).await;
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].id, waiting[0].job_state()),
        (id, Some(JobState::Retrying))
    );
    assert!(
        drained.attempts[0].next_run_at.is_some(),
        "the audit row records when the retry runs"
    );
    db.finish().await;
}

async fn enqueue_in_queue(pool: &PgPool, key: &str, queue: &str) -> i64 {
    let job = NewJob::new(&ScriptedJob::new(key, vec![Step::Succeed]))
        .unwrap_or_else(|e| panic!("{e}"))
        .queue(queue);
    enqueue(pool, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id
}

#[tokio::test]
async fn drain_runs_only_the_chosen_queues_and_then_every_queue() {
    let db = TestDb::new().await;
    let mail = enqueue_in_queue(&db.pool, "m", "mail").await;
    let hooks = enqueue_in_queue(&db.pool, "h", "hooks").await;
    let other = enqueue_in_queue(&db.pool, "o", "other").await;
    let registry = registry(db.pool.clone());

    let first = drain(
        &db.pool,
        &registry,
        DrainOptions::default().queue("mail").queue("hooks"),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let mut ran: Vec<_> = first
        .attempts
        .iter()
        .map(|a| (a.job_id, a.queue.as_str()))
        .collect();
    ran.sort_unstable();
    assert_eq!(ran, vec![(mail, "mail"), (hooks, "hooks")]);
    assert_enqueued(&db.pool, &JobFilter::new().queue("other")).await;
    refute_enqueued(&db.pool, &JobFilter::new().queue("mail")).await;

    let rest = drain(&db.pool, &registry, DrainOptions::all_queues())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ran: Vec<_> = rest
        .attempts
        .iter()
        .map(|a| (a.job_id, a.outcome.clone()))
        .collect();
    assert_eq!(ran, vec![(other, AttemptOutcome::Succeeded)]);
    refute_enqueued(&db.pool, &JobFilter::new()).await;
    db.finish().await;
}

#[tokio::test]
async fn drain_kills_a_job_of_an_unregistered_type_with_a_validation_error() {
    let db = TestDb::new().await;
    let job = NewJob::new(&Charge::new("ok")).unwrap_or_else(|e| panic!("{e}"));
    let id = enqueue(&db.pool, job)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;

    let drained = drain(
        &db.pool,
        &registry(db.pool.clone()),
        DrainOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let attempt = drained
        .attempts
        .first()
        .unwrap_or_else(|| panic!("{drained:?}"));
    assert_eq!(
        (attempt.job_id, &attempt.outcome),
        (id, &AttemptOutcome::Dead)
    );
    assert_eq!(attempt.error_code, Some(ErrorCode::Validation));
    assert!(
        attempt
            .message
            .as_deref()
            .is_some_and(|m| m.contains("no handler is registered")),
        "{attempt:?}"
    );
    db.finish().await;
}

#[tokio::test]
async fn drain_fails_clearly_when_jobs_are_still_due_after_its_last_round() {
    let db = TestDb::new().await;
    enqueue_scripted(
        &db.pool,
        "again",
        vec![fail("UPSTREAM_UNAVAILABLE"), Step::Succeed],
        3,
    )
    .await;
    let options = DrainOptions::default().with_scheduled(true).max_rounds(1);

    let result = drain(&db.pool, &registry(db.pool.clone()), options).await;

    match result {
        Err(e @ DrainError::StillDue { .. }) => {
            let message = e.to_string();
            assert!(
                message.contains("1 jobs still due after 1 rounds (1 attempts run)")
                    && message.contains("max_rounds"),
                "{message}"
            );
        }
        other => panic!("expected StillDue, got {other:?}"),
    }
    db.finish().await;
}

#[tokio::test]
async fn enqueued_jobs_match_by_type_queue_state_and_payload_containment() {
    let db = TestDb::new().await;
    let id = enqueue_in_queue(&db.pool, "order-42", "mail").await;
    enqueue_in_queue(&db.pool, "order-43", "mail").await;

    let by_payload = JobFilter::of::<ScriptedJob>().payload(json!({ "key": "order-42" }));
    let found = assert_enqueued(&db.pool, &by_payload).await;
    assert_eq!(found.iter().map(|j| j.id).collect::<Vec<_>>(), vec![id]);
    let nested = JobFilter::new().payload(json!({ "steps": [{ "do": "succeed" }] }));
    assert_eq!(
        enqueued_jobs(&db.pool, &nested).await.map(|j| j.len()).ok(),
        Some(2)
    );
    refute_enqueued(&db.pool, &by_payload.clone().queue("default")).await;
    refute_enqueued(&db.pool, &by_payload.clone().state(JobState::Dead)).await;
    refute_enqueued(&db.pool, &JobFilter::job_type("test.other")).await;
    assert_enqueued(&db.pool, &by_payload.any_state()).await;
    db.finish().await;
}

/// The panic message of `assertion`, run on a task of its own.
async fn panic_message(assertion: impl Future<Output = ()> + Send + 'static) -> String {
    let Err(failed) = tokio::spawn(assertion).await else {
        panic!("the assertion passed");
    };
    let payload = failed.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test]
async fn a_failed_assert_enqueued_names_the_filter_and_lists_what_is_enqueued() {
    let db = TestDb::new().await;
    let id = enqueue_in_queue(&db.pool, "order-42", "mail").await;
    let pool = db.pool.clone();

    let message = panic_message(async move {
        let filter = JobFilter::of::<ScriptedJob>().payload(json!({ "key": "order-7" }));
        assert_enqueued(&pool, &filter).await;
    })
    .await;

    assert!(
        message.starts_with(
            "expected a job matching type test.scripted, state pending or retrying, payload containing {\"key\":\"order-7\"}, found none; jobs in the queue:\n"
        ),
        "{message}"
    );
    assert!(
        message.contains(&format!("#{id} test.scripted queue=mail state=pending attempt=0/3 payload={{\"key\":\"order-42\"")),
        "{message}"
    );

    let pool = db.pool.clone();
    let message = panic_message(async move {
        refute_enqueued(&pool, &JobFilter::new().queue("mail")).await;
    })
    .await;
    assert!(
        message.starts_with(
            "expected no job matching queue mail, state pending or retrying; found:\n"
        ) && message.contains(&format!("#{id} test.scripted")),
        "{message}"
    );
    db.finish().await;
}

async fn database_exists(server: &str, name: &str) -> bool {
    let admin = PgPool::connect(server)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let exists = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
        .bind(name)
        .fetch_one(&admin)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    admin.close().await;
    exists
}

#[tokio::test]
async fn each_test_database_is_fresh_and_migrated_and_dropped_on_close_or_drop() {
    let server = herald_tests::db::server_url();
    let (a, b) = (
        TestDatabase::new().await.unwrap_or_else(|e| panic!("{e}")),
        TestDatabase::new().await.unwrap_or_else(|e| panic!("{e}")),
    );
    assert_ne!(a.name(), b.name());
    enqueue_in_queue(a.pool(), "only-in-a", "default").await;
    assert_enqueued(a.pool(), &JobFilter::new()).await;
    refute_enqueued(b.pool(), &JobFilter::new()).await;

    let (a_name, b_name) = (a.name().to_owned(), b.name().to_owned());
    a.close().await.unwrap_or_else(|e| panic!("{e}"));
    drop(b);
    assert!(
        !database_exists(&server, &a_name).await,
        "closed database remains"
    );
    assert!(
        !database_exists(&server, &b_name).await,
        "dropped database remains"
    );
}

#[test]
fn the_readme_shows_the_custom_job_example_tests_as_written() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |path: &str| {
        std::fs::read_to_string(repo.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    };
    let (readme, example) = (read("README.md"), read("worker/examples/custom_job.rs"));
    let section = readme
        .split_once("### Testing your jobs")
        .and_then(|(_, rest)| rest.split_once("```rust\n"))
        .and_then(|(_, rest)| rest.split_once("```"))
        .map(|(code, _)| code)
        .unwrap_or_else(|| panic!("README has no rust block under \"Testing your jobs\""));
    assert!(
        section.contains("mod tests") && example.contains(section),
        "README's \"Testing your jobs\" block differs from worker/examples/custom_job.rs's tests; copy the module over"
    );
}
