//! Retention: the maintenance leader prunes exactly what the policy says, one worker at a
//! time, survives its own death, and never touches live work. Ages are made testable by
//! backdating rows in SQL; every wait polls a condition with a bound.

use std::collections::BTreeSet;
use std::time::Duration;

use herald_jobs::enqueue::{NewJob, enqueue_in};
use herald_tests::db::TestDb;
use herald_tests::jobs::{ScriptedJob, Step};
use herald_tests::wait::eventually;
use herald_tests::workers::{InProcessWorker, test_env};
use nix::sys::signal::Signal;
use sqlx::PgPool;

use crate::process::WorkerProcess;

/// Inserts a finished (or live) job of queue `queue` in `state`, finished `finished_secs_ago`
/// (NULL when `None`), with one audit row per `(outcome, finished_secs_ago)`; returns its id.
/// Live seeds run at a far-future time under a type no worker runs, so nobody claims them.
pub(crate) async fn seed_job(
    pool: &PgPool,
    queue: &str,
    state: &str,
    finished_secs_ago: Option<f64>,
    attempts: &[(&str, f64)],
) -> i64 {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, run_at, created_at, finished_at)
         VALUES ('seed.never', $1, '{}', $2, $3, 5, now() + interval '1 day', now() - interval '400 days',
                 now() - make_interval(secs => $4))
         RETURNING id",
    )
    .bind(queue)
    .bind(state)
    .bind(attempts.len() as i32)
    .bind(finished_secs_ago)
    .fetch_one(pool)
    .await
    .unwrap_or_else(|e| panic!("seed job: {e}"));
    for (n, (outcome, ago)) in attempts.iter().enumerate() {
        seed_attempt(pool, id, queue, n as i32 + 1, outcome, *ago).await;
    }
    id
}

pub(crate) async fn seed_attempt(
    pool: &PgPool,
    job_id: i64,
    queue: &str,
    attempt: i32,
    outcome: &str,
    ago: f64,
) {
    sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         VALUES ($1, 'seed.never', $2, $3, 'seed', now() - make_interval(secs => $5) - interval '1 second',
                 now() - make_interval(secs => $5), 1000, $4, $4)",
    )
    .bind(job_id)
    .bind(queue)
    .bind(attempt)
    .bind(outcome)
    .bind(ago)
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("seed attempt: {e}"));
}

/// `n` succeeded jobs that finished `days` ago, each with audit rows `outcomes`
/// (finished `days` ago plus a minute per earlier attempt); returns their ids in order.
pub(crate) async fn seed_many_succeeded(
    pool: &PgPool,
    n: i32,
    days: f64,
    outcomes: &[&str],
) -> Vec<i64> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "INSERT INTO herald.jobs (job_type, queue, payload, state, attempt, max_attempts, run_at, finished_at)
         SELECT 'seed.never', 'default', '{}', 'succeeded', $2, 5, now() - make_interval(secs => $3 * 86400),
                now() - make_interval(secs => $3 * 86400) - make_interval(secs => g)
         FROM generate_series(1, $1) AS g
         RETURNING id",
    )
    .bind(n)
    .bind(outcomes.len() as i32)
    .bind(days)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("seed jobs: {e}"));
    sqlx::query(
        "INSERT INTO herald.attempts (job_id, job_type, queue, attempt, worker_id, started_at, finished_at, duration_ms, outcome, job_state)
         SELECT j.id, j.job_type, j.queue, o.n, 'seed',
                j.finished_at - make_interval(mins => (o.total - o.n)::int) - interval '1 second',
                j.finished_at - make_interval(mins => (o.total - o.n)::int), 1000, o.outcome, o.outcome
         FROM herald.jobs j
         CROSS JOIN LATERAL (SELECT u.outcome, u.n::int AS n, cardinality($2::text[]) AS total
                             FROM unnest($2::text[]) WITH ORDINALITY AS u(outcome, n)) AS o
         WHERE j.id = ANY($1)",
    )
    .bind(&ids)
    .bind(outcomes.iter().map(|o| (*o).to_owned()).collect::<Vec<_>>())
    .execute(pool)
    .await
    .unwrap_or_else(|e| panic!("seed attempts: {e}"));
    ids
}

pub(crate) async fn scalar_i64(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Pairs of pruning runs that overlap in time. A run spans from its start to its finish
/// or its last committed batch, whichever is later (a run closed as abandoned by another
/// worker while it was still deleting would show a batch after its finish).
pub(crate) async fn overlapping_runs(pool: &PgPool) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT x.id, y.id FROM herald.maintenance_runs x JOIN herald.maintenance_runs y
           ON x.id < y.id
          AND tstzrange(x.started_at, greatest(x.finished_at, x.updated_at), '[]')
           && tstzrange(y.started_at, greatest(y.finished_at, y.updated_at), '[]')",
    )
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("overlap: {e}"))
}

/// Seeded jobs of `ids` that still exist without all their audit rows.
async fn jobs_missing_audit_rows(pool: &PgPool, ids: &[i64], rows_per_job: i64) -> Vec<(i64, i64)> {
    sqlx::query_as(
        "SELECT j.id, count(a.id)
         FROM herald.jobs j
         LEFT JOIN herald.attempts a ON a.job_id = j.id
         WHERE j.id = ANY($1)
         GROUP BY j.id
         HAVING count(a.id) <> $2",
    )
    .bind(ids)
    .bind(rows_per_job)
    .fetch_all(pool)
    .await
    .unwrap_or_else(|e| panic!("missing audit rows: {e}"))
}

pub(crate) const DAY: f64 = 86_400.0;

#[tokio::test]
async fn the_policy_removes_exactly_what_it_says_and_records_the_run() {
    let db = TestDb::new().await;
    let p = &db.pool;
    let mut gone = BTreeSet::new();
    let mut kept = BTreeSet::new();
    // Succeeded past 3 days: gone with its audit rows.
    let newest_gone = seed_job(
        p,
        "default",
        "succeeded",
        Some(4.0 * DAY),
        &[("succeeded", 4.0 * DAY)],
    )
    .await;
    gone.insert(newest_gone);
    // Succeeded after a failure: the job and its success go, the failed attempt (5 days
    // old, under 30) stays by its own age.
    let retried = seed_job(
        p,
        "default",
        "succeeded",
        Some(5.0 * DAY),
        &[("retrying", 5.0 * DAY + 60.0), ("succeeded", 5.0 * DAY)],
    )
    .await;
    gone.insert(retried);
    // Succeeded 40 days ago after a failure 40 days ago: everything goes.
    let oldest_gone = seed_job(
        p,
        "default",
        "succeeded",
        Some(40.0 * DAY),
        &[("retrying", 40.0 * DAY + 60.0), ("succeeded", 40.0 * DAY)],
    )
    .await;
    gone.insert(oldest_gone);
    // Recent success, dead and cancelled within 30 days: kept.
    kept.insert(
        seed_job(
            p,
            "default",
            "succeeded",
            Some(2.0 * DAY),
            &[("succeeded", 2.0 * DAY)],
        )
        .await,
    );
    kept.insert(
        seed_job(
            p,
            "default",
            "dead",
            Some(20.0 * DAY),
            &[("retrying", 20.0 * DAY + 60.0), ("dead", 20.0 * DAY)],
        )
        .await,
    );
    kept.insert(
        seed_job(
            p,
            "default",
            "cancelled",
            Some(20.0 * DAY),
            &[("retrying", 21.0 * DAY)],
        )
        .await,
    );
    // Dead and cancelled past 30 days: gone with their audit rows.
    gone.insert(
        seed_job(
            p,
            "default",
            "dead",
            Some(31.0 * DAY),
            &[("retrying", 31.0 * DAY + 60.0), ("dead", 31.0 * DAY)],
        )
        .await,
    );
    gone.insert(
        seed_job(
            p,
            "default",
            "cancelled",
            Some(31.0 * DAY),
            &[("retrying", 32.0 * DAY)],
        )
        .await,
    );
    // Queue `keep` keeps successes 10 days (HERALD_RETENTION_QUEUES).
    kept.insert(
        seed_job(
            p,
            "keep",
            "succeeded",
            Some(4.0 * DAY),
            &[("succeeded", 4.0 * DAY)],
        )
        .await,
    );
    gone.insert(
        seed_job(
            p,
            "keep",
            "succeeded",
            Some(11.0 * DAY),
            &[("succeeded", 11.0 * DAY)],
        )
        .await,
    );
    // Audit rows of jobs already gone (purged without --include-audit): by their own age.
    seed_attempt(p, 50, "default", 1, "retrying", 31.0 * DAY).await; // gone
    seed_attempt(p, 51, "default", 1, "retrying", 10.0 * DAY).await; // kept
    seed_attempt(p, 52, "default", 1, "succeeded", 4.0 * DAY).await; // gone
    seed_attempt(p, 53, "keep", 1, "succeeded", 4.0 * DAY).await; // kept (10 days)
    // Live jobs are never touched, whatever their timestamps say. Their ids start at 201:
    // with partitions of 100 ids, every row above is in the CLOSED partition [1, 201)
    // (its ids all handed out, none live), where audit rows go.
    sqlx::query("SELECT setval(pg_get_serial_sequence('herald.jobs', 'id'), 200)")
        .execute(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for state in ["pending", "retrying"] {
        kept.insert(
            seed_job(
                p,
                "default",
                state,
                Some(400.0 * DAY),
                &[("retrying", 400.0 * DAY)],
            )
            .await,
        );
    }
    // Operator actions: a year; an old run record: a year.
    sqlx::raw_sql(
        "INSERT INTO herald.operator_actions (at, actor, action) VALUES
           (now() - interval '400 days', 'alice', 'purge'), (now() - interval '10 days', 'bob', 'replay');
         INSERT INTO herald.maintenance_runs (worker_id, started_at, updated_at, finished_at, outcome, policy)
         VALUES ('old', now() - interval '400 days', now() - interval '400 days', now() - interval '400 days', 'completed', '{}')",
    )
    .execute(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let seeded_actions = scalar_i64(p, "SELECT count(*) FROM herald.operator_actions").await;
    assert_eq!(seeded_actions, 2);

    let worker = InProcessWorker::start(
        &db,
        "retention-w1",
        &[
            ("HERALD_RETENTION_QUEUES", "keep/succeeded=10d"),
            ("HERALD_MAINTENANCE_BATCH", "2"),
            ("HERALD_AUDIT_PARTITION_JOBS", "100"),
        ],
    )
    .await;
    let run_id: i64 = eventually("a completed maintenance run", Duration::from_secs(30), || async {
        sqlx::query_scalar("SELECT id FROM herald.maintenance_runs WHERE outcome = 'completed' AND worker_id = 'retention-w1' ORDER BY id LIMIT 1")
            .fetch_optional(p)
            .await
            .ok()
            .flatten()
    })
    .await;
    worker.stop().await;

    let remaining: BTreeSet<i64> = sqlx::query_scalar::<_, i64>("SELECT id FROM herald.jobs")
        .fetch_all(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .collect();
    assert_eq!(remaining, kept, "exactly the jobs the policy keeps remain");
    let trail_of_gone: Vec<(i64, String)> = sqlx::query_as(
        "SELECT job_id, outcome FROM herald.attempts WHERE job_id = ANY($1) ORDER BY job_id, attempt",
    )
    .bind(gone.iter().copied().collect::<Vec<_>>())
    .fetch_all(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        trail_of_gone,
        vec![(retried, "retrying".to_owned())],
        "a pruned job's audit rows went with its closed partition, except a failed attempt younger than 30 days"
    );
    let orphans: Vec<i64> = sqlx::query_scalar(
        "SELECT job_id FROM herald.attempts WHERE job_id BETWEEN 50 AND 53 ORDER BY job_id",
    )
    .fetch_all(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(orphans, vec![51, 53]);
    let actors: Vec<String> = sqlx::query_scalar("SELECT actor FROM herald.operator_actions")
        .fetch_all(p)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(actors, vec!["bob".to_owned()]);

    #[derive(Debug, sqlx::FromRow)]
    struct Run {
        worker_id: String,
        jobs_succeeded: i64,
        jobs_dead: i64,
        jobs_cancelled: i64,
        attempts_removed: i64,
        operator_actions_removed: i64,
        runs_removed: i64,
        oldest_job_id: Option<i64>,
        newest_job_id: Option<i64>,
        oldest_age_days: Option<f64>,
        newest_age_days: Option<f64>,
        succeeded_secs: Option<f64>,
        keep_succeeded_secs: Option<f64>,
    }
    let run: Run = sqlx::query_as(
        "SELECT worker_id, jobs_succeeded, jobs_dead, jobs_cancelled, attempts_removed,
                operator_actions_removed, runs_removed, oldest_job_id, newest_job_id,
                round(extract(epoch FROM now() - oldest_finished_at) / 86400)::float8 AS oldest_age_days,
                round(extract(epoch FROM now() - newest_finished_at) / 86400)::float8 AS newest_age_days,
                (policy ->> 'succeeded')::float8 AS succeeded_secs,
                (policy -> 'queues' -> 'keep' ->> 'succeeded')::float8 AS keep_succeeded_secs
         FROM herald.maintenance_runs WHERE id = $1",
    )
    .bind(run_id)
    .fetch_one(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(run.worker_id, "retention-w1");
    assert_eq!(
        (run.jobs_succeeded, run.jobs_dead, run.jobs_cancelled),
        (4, 1, 1),
        "{run:?}"
    );
    // 1 + 1 + 2 (succeeded) + 2 (dead) + 1 (cancelled) + 1 (keep) + 2 orphans, by
    // compacting [1, 201) (10 of its 18 rows go).
    assert_eq!(run.attempts_removed, 10, "{run:?}");
    let compacted: i32 = sqlx::query_scalar(
        "SELECT attempt_partitions_compacted FROM herald.maintenance_runs WHERE id = $1",
    )
    .bind(run_id)
    .fetch_one(p)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compacted, 1);
    assert_eq!(
        (run.operator_actions_removed, run.runs_removed),
        (1, 1),
        "{run:?}"
    );
    assert_eq!(
        (
            run.oldest_job_id,
            run.oldest_age_days,
            run.newest_job_id,
            run.newest_age_days
        ),
        (Some(oldest_gone), Some(40.0), Some(newest_gone), Some(4.0)),
        "the oldest and newest removed jobs, by finish time"
    );
    assert_eq!(
        (run.succeeded_secs, run.keep_succeeded_secs),
        (Some(3.0 * DAY), Some(10.0 * DAY)),
        "the run records the policy in force"
    );
    db.finish().await;
}

/// Worker processes' settings for pruning many small batches quickly.
pub(crate) fn pruning_env(
    db: &TestDb,
    id: &str,
    batch: &str,
) -> std::collections::HashMap<String, String> {
    let mut env = test_env(&db.url, id);
    for (k, v) in [
        ("HERALD_MAINTENANCE_BATCH", batch),
        ("HERALD_MAINTENANCE_PAUSE", "0s"),
        ("HERALD_MAINTENANCE_INTERVAL", "100ms"),
        ("HERALD_AUDIT_PARTITION_JOBS", "100"),
    ] {
        env.insert(k.to_owned(), v.to_owned());
    }
    env
}

#[tokio::test]
async fn three_workers_never_prune_at_once_and_leadership_is_handed_over() {
    let db = TestDb::new().await;
    let ids = seed_many_succeeded(&db.pool, 3000, 4.0, &["succeeded"]).await;
    let mut workers: Vec<WorkerProcess> = ["lead-a", "lead-b", "lead-c"]
        .iter()
        .map(|id| WorkerProcess::spawn(&pruning_env(&db, id, "10")))
        .collect();
    // The first leader stops gracefully mid-run: another worker takes over at once.
    let first: String = eventually("a run in progress", Duration::from_secs(30), || async {
        sqlx::query_scalar("SELECT worker_id FROM herald.maintenance_runs WHERE outcome = 'running' AND batches >= 2")
            .fetch_optional(&db.pool)
            .await
            .ok()
            .flatten()
    })
    .await;
    let index = ["lead-a", "lead-b", "lead-c"]
        .iter()
        .position(|w| *w == first)
        .unwrap_or_else(|| panic!("unknown leader {first}"));
    let mut stopped = workers.remove(index);
    stopped.signal(Signal::SIGTERM);
    assert!(stopped.wait(Duration::from_secs(20)).success());
    eventually("every old job pruned and a later run completed", Duration::from_secs(60), || async {
        let left = scalar_i64(&db.pool, "SELECT count(*) FROM herald.jobs").await;
        let completed = scalar_i64(
            &db.pool,
            "SELECT count(*) FROM herald.maintenance_runs WHERE outcome = 'completed' AND jobs_succeeded = 0",
        )
        .await;
        (left == 0 && completed >= 2).then_some(())
    })
    .await;
    for w in &mut workers {
        w.signal(Signal::SIGTERM);
        assert!(w.wait(Duration::from_secs(20)).success());
    }

    assert_eq!(
        overlapping_runs(&db.pool).await,
        vec![],
        "runs that overlapped"
    );
    let (jobs, attempts, leaders, open): (i64, i64, i64, i64) = sqlx::query_as(
        "SELECT sum(jobs_succeeded)::bigint, sum(attempts_removed)::bigint, count(DISTINCT worker_id),
                count(*) FILTER (WHERE finished_at IS NULL)
         FROM herald.maintenance_runs",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (jobs, attempts),
        (ids.len() as i64, ids.len() as i64),
        "every deletion recorded once"
    );
    assert!(
        leaders >= 2,
        "leadership was handed over ({leaders} leaders)"
    );
    assert_eq!(open, 0, "every run was closed");
    let first_run: String = sqlx::query_scalar(
        "SELECT outcome FROM herald.maintenance_runs WHERE worker_id = $1 ORDER BY id LIMIT 1",
    )
    .bind(&first)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ["interrupted", "completed"].contains(&first_run.as_str()),
        "the first leader's run ended cleanly at its shutdown: {first_run}"
    );
    let leaders_left = scalar_i64(&db.pool, "SELECT count(*) FROM herald.maintenance_leader").await;
    assert_eq!(leaders_left, 0, "the last leader resigned at shutdown");
    db.finish().await;
}

#[tokio::test]
async fn killing_the_leader_mid_prune_leaves_every_job_whole_and_another_worker_finishes() {
    let db = TestDb::new().await;
    let ids = seed_many_succeeded(&db.pool, 1500, 40.0, &["retrying", "succeeded"]).await;
    // The audit rows' partition, and a transaction that holds it (as an in-flight insert
    // would): the leader prunes every job, then waits (lock_timeout 1 s) for the
    // partition's SHARE lock to drop it. The leader is killed right there.
    sqlx::query("SELECT herald.create_attempt_partition(1, 1501)")
        .execute(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut blocker = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
    sqlx::query("LOCK TABLE herald.attempts_p1 IN ROW EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut a = WorkerProcess::spawn(&pruning_env(&db, "kill-a", "20"));
    let leader: String = eventually(
        "the leader waiting to drop the partition",
        Duration::from_secs(60),
        || async {
            sqlx::query_scalar(
                "SELECT r.worker_id FROM pg_stat_activity s, herald.maintenance_runs r
             WHERE s.datname = current_database() AND s.wait_event_type = 'Lock'
               AND s.query LIKE '%prune_attempt_partition%' AND r.outcome = 'running'",
            )
            .fetch_optional(&db.pool)
            .await
            .ok()
            .flatten()
        },
    )
    .await;
    assert_eq!(leader, "kill-a");
    a.kill_hard();
    // The killed transaction rolled back whole: every audit row is still there.
    assert_eq!(
        scalar_i64(&db.pool, "SELECT count(*) FROM herald.attempts").await,
        3000,
        "audit rows lost by the kill"
    );
    assert_eq!(jobs_missing_audit_rows(&db.pool, &ids, 2).await, vec![]);
    blocker.rollback().await.unwrap_or_else(|e| panic!("{e}"));
    let mut b = WorkerProcess::spawn(&pruning_env(&db, "kill-b", "20"));

    eventually("the new leader finished the pruning", Duration::from_secs(60), || async {
        let left = scalar_i64(&db.pool, "SELECT count(*) FROM herald.attempts").await;
        let done = scalar_i64(
            &db.pool,
            "SELECT count(*) FROM herald.maintenance_runs WHERE worker_id = 'kill-b' AND outcome = 'completed'",
        )
        .await;
        (left == 0 && done >= 1).then_some(())
    })
    .await;
    b.signal(Signal::SIGTERM);
    assert!(b.wait(Duration::from_secs(20)).success());

    assert_eq!(
        scalar_i64(&db.pool, "SELECT count(*) FROM herald.jobs").await,
        0
    );
    let killed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT outcome, jobs_succeeded FROM herald.maintenance_runs WHERE worker_id = 'kill-a'",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(killed.len(), 1, "{killed:?}");
    assert_eq!(
        killed[0].0, "abandoned",
        "the next leader closed the dead one's run"
    );
    assert!(
        killed[0].1 > 0,
        "the killed run had committed batches: {killed:?}"
    );
    let (jobs, attempts): (i64, i64) = sqlx::query_as(
        "SELECT sum(jobs_succeeded)::bigint, sum(attempts_removed)::bigint FROM herald.maintenance_runs",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        (jobs, attempts),
        (1500, 3000),
        "the killed run's record counts exactly what it committed"
    );
    assert_eq!(overlapping_runs(&db.pool).await, vec![]);
    db.finish().await;
}

#[tokio::test]
async fn pruning_while_workers_drain_across_partition_boundaries_loses_no_job_and_no_audit_row_of_a_live_job()
 {
    let db = TestDb::new().await;
    let old = seed_many_succeeded(&db.pool, 2000, 4.0, &["retrying", "succeeded"]).await;
    // Successes and failed attempts are kept one second only: jobs drained in this test
    // are pruned while the others are still being claimed and retried, and a retrying
    // job's audit rows are older than their age while the job is alive. Partitions of 50
    // job ids: as the waves below are enqueued the leader creates partitions ahead, and
    // drops or compacts them as they close, while attempts are being written.
    let spawn = |id: &str| {
        let mut env = pruning_env(&db, id, "50");
        env.insert("HERALD_RETENTION_SUCCEEDED".into(), "1s".into());
        env.insert("HERALD_RETENTION_FAILED_ATTEMPTS".into(), "1s".into());
        env.insert("HERALD_AUDIT_PARTITION_JOBS".into(), "50".into());
        WorkerProcess::spawn(&env)
    };
    let mut workers = [spawn("drain-a"), spawn("drain-b")];
    let mut live = Vec::new();
    for wave in 0..6 {
        let mut tx = db.pool.begin().await.unwrap_or_else(|e| panic!("{e}"));
        for n in wave * 100..(wave + 1) * 100 {
            let steps = if n % 3 == 0 {
                // Waits 3 s as `retrying`: its failed attempt's audit row outlives the 1 s
                // failed-attempt age while its job is still live.
                vec![Step::RateLimited { secs: 3 }, Step::Succeed]
            } else {
                vec![Step::Sleep { ms: 2 }]
            };
            let job = NewJob::new(&ScriptedJob::new(format!("drain{n}"), steps))
                .unwrap_or_else(|e| panic!("{e}"));
            live.push(
                enqueue_in(&mut tx, job)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                    .id,
            );
        }
        tx.commit().await.unwrap_or_else(|e| panic!("{e}"));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }

    let live_job_without_its_trail = "SELECT count(*) FROM herald.jobs j
         WHERE j.state IN ('pending', 'retrying', 'succeeded', 'dead')
           AND j.attempt <> (SELECT count(*) FROM herald.attempts a WHERE a.job_id = j.id)";
    let checked = std::sync::atomic::AtomicUsize::new(0);
    let (checks, pool) = (&checked, &db.pool);
    eventually(
        "the live jobs drained and pruned",
        Duration::from_secs(120),
        || async move {
            checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            assert_eq!(
                scalar_i64(pool, live_job_without_its_trail).await,
                0,
                "a job that exists lacks audit rows while pruning runs"
            );
            let left = scalar_i64(pool, "SELECT count(*) FROM herald.jobs").await;
            // Every closed partition's succeeded rows went (their jobs are pruned).
            let closed_successes = scalar_i64(
                pool,
                "SELECT count(*) FROM herald.attempts a
                 WHERE a.outcome = 'succeeded'
                   AND a.tableoid IN (SELECT ('herald.' || p.name)::regclass FROM herald.attempt_partitions() p
                                      WHERE p.upper_bound <= herald.audit_closed_below())",
            )
            .await;
            (left == 0 && closed_successes == 0).then_some(())
        },
    )
    .await;
    for w in &mut workers {
        w.signal(Signal::SIGTERM);
        assert!(w.wait(Duration::from_secs(20)).success());
    }
    assert!(
        checked.into_inner() > 1,
        "the invariant was checked while pruning ran"
    );

    // Every live job ran to success exactly once before it was pruned.
    let done: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.id, count(e.job_id) FROM unnest($1::bigint[]) AS s(id)
         LEFT JOIN public.test_effects e ON e.job_id = s.id AND e.event = 'done'
         GROUP BY s.id HAVING count(e.job_id) <> 1",
    )
    .bind(&live)
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(done, vec![], "live jobs that did not succeed exactly once");
    // The partition still receiving ids (none of the closed ones) keeps the successes of
    // its pruned jobs until it closes.
    let (jobs, succeeded_rows_left): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT sum(jobs_succeeded)::bigint FROM herald.maintenance_runs),
                count(*) FILTER (WHERE outcome = 'succeeded' AND job_id < (
                    SELECT max(lower_bound) FROM herald.attempt_partitions()
                    WHERE lower_bound <= herald.audit_closed_below()))
         FROM herald.attempts",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        jobs,
        (old.len() + live.len()) as i64,
        "every pruned job is counted in a run"
    );
    assert_eq!(
        succeeded_rows_left, 0,
        "a success's audit row goes with its closed partition"
    );
    assert_eq!(overlapping_runs(&db.pool).await, vec![]);
    db.finish().await;
}

/// `herald retention --json` (or its text) with the retention variables `env`.
pub(crate) fn herald_retention(db: &TestDb, env: &[(&str, &str)], json: bool) -> String {
    let mut command = std::process::Command::new(crate::cli::herald_bin());
    command
        .arg("retention")
        .env_remove("DATABASE_URL")
        .env("DATABASE_URL", &db.url)
        .env("HERALD_LOG", "warn")
        .envs(env.iter().copied());
    if json {
        command.arg("--json");
    }
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("run herald: {e}"));
    assert!(
        out.status.success(),
        "herald retention: {}",
        crate::cli::text(&out.stderr)
    );
    crate::cli::text(&out.stdout)
}

fn preview_rows(report: &serde_json::Value) -> Vec<(String, i64)> {
    report["next_run"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["class"].as_str().unwrap_or("?").to_owned(),
                p["rows"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

#[tokio::test]
async fn herald_retention_shows_the_policy_what_the_next_run_prunes_and_the_last_runs() {
    let db = TestDb::new().await;
    let p = &db.pool;
    seed_job(
        p,
        "default",
        "succeeded",
        Some(4.0 * DAY),
        &[("retrying", 4.0 * DAY + 60.0), ("succeeded", 4.0 * DAY)],
    )
    .await;
    seed_job(
        p,
        "default",
        "dead",
        Some(20.0 * DAY),
        &[("dead", 20.0 * DAY)],
    )
    .await;
    seed_job(
        p,
        "keep",
        "succeeded",
        Some(4.0 * DAY),
        &[("succeeded", 4.0 * DAY)],
    )
    .await;
    let env = [
        ("HERALD_RETENTION_DEAD", "10d"),
        ("HERALD_RETENTION_QUEUES", "keep/succeeded=10d"),
    ];

    let before: serde_json::Value =
        serde_json::from_str(&herald_retention(&db, &env, true)).unwrap_or_else(|e| panic!("{e}"));
    let source = |r: &serde_json::Value, class: &str| {
        r["policy"]
            .as_array()
            .and_then(|a| a.iter().find(|p| p["class"] == class).cloned())
            .map(|p| (p["age"].clone(), p["source"].clone()))
    };
    assert_eq!(
        source(&before, "succeeded"),
        Some(("3d".into(), "default".into()))
    );
    assert_eq!(
        source(&before, "dead"),
        Some(("10d".into(), "configured (HERALD_RETENTION_DEAD)".into()))
    );
    assert_eq!(before["queue_overrides"][0]["queue"], "keep");
    assert_eq!(
        preview_rows(&before),
        vec![
            ("cancelled".to_owned(), 0),
            ("dead".to_owned(), 1),
            ("succeeded".to_owned(), 1),
            ("audit_rows".to_owned(), 0),
            ("operator_actions".to_owned(), 0),
            ("maintenance_runs".to_owned(), 0),
        ],
        "the succeeded and dead jobs go; no audit row yet: their partition still receives ids (partitions::compaction_… counts audit rows)"
    );
    assert_eq!(before["runs"], serde_json::json!([]));
    assert_eq!(before["leader"], serde_json::Value::Null);

    let worker = InProcessWorker::start(&db, "retention-cli", &env).await;
    eventually("a completed run", Duration::from_secs(30), || async {
        let n = scalar_i64(
            p,
            "SELECT count(*) FROM herald.maintenance_runs WHERE outcome = 'completed'",
        )
        .await;
        (n > 0).then_some(())
    })
    .await;
    let text = herald_retention(&db, &env, false);
    assert!(text.contains("leader: retention-cli since"), "{text}");
    assert!(
        text.contains("configured (HERALD_RETENTION_DEAD)"),
        "{text}"
    );
    worker.stop().await;

    let after: serde_json::Value =
        serde_json::from_str(&herald_retention(&db, &env, true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(preview_rows(&after).iter().all(|(_, n)| *n == 0), "{after}");
    let run = &after["runs"][0];
    assert_eq!(
        (
            &run["outcome"],
            &run["jobs_succeeded"],
            &run["jobs_dead"],
            &run["attempts_removed"]
        ),
        (&"completed".into(), &1.into(), &1.into(), &0.into()),
        "{run}"
    );
    assert_eq!(after["policy_matches_last_run"], true);
    assert_eq!(
        after["leader"],
        serde_json::Value::Null,
        "the worker resigned at shutdown"
    );
    let other = herald_retention(&db, &[], false);
    assert!(
        other.contains("the newest run applied a different policy"),
        "{other}"
    );
    db.finish().await;
}
