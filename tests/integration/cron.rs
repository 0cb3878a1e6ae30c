//! Recurring jobs: a cron schedule run by two workers is enqueued once per tick, and its
//! jobs run and are audited like any other.

use std::time::Duration;

use chrono::{DateTime, Utc};
use herald_tests::db::TestDb;
use herald_tests::wait::{eventually, settled};
use herald_tests::workers::InProcessWorker;
use herald_worker::WorkerConfig;

const EVERY_SECOND: &str = r#"
[[schedule]]
name = "every-second"
cron = "* * * * * *"
job_type = "test.scripted"
payload = { key = "cron", steps = [ { do = "succeed" } ] }
priority = 2
"#;

fn write_file(db: &TestDb, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}-cron.toml", db.name));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write cron file: {e}"));
    path.display().to_string()
}

#[tokio::test]
async fn a_cron_schedule_ticks_once_per_period_with_two_workers() {
    let db = TestDb::new().await;
    let file = write_file(&db, EVERY_SECOND);
    let overrides = [("HERALD_CRON_FILE", file.as_str())];
    let w1 = InProcessWorker::start(&db, "w1", &overrides).await;
    let w2 = InProcessWorker::start(&db, "w2", &overrides).await;
    eventually("four cron ticks", Duration::from_secs(20), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM herald.cron_ticks")
            .fetch_one(&db.pool)
            .await
            .ok()?;
        (n >= 4).then_some(())
    })
    .await;
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM herald.jobs")
        .fetch_all(&db.pool)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    settled(&db.pool, &ids, Duration::from_secs(20)).await;
    w1.stop().await;
    w2.stop().await;

    let ticks: Vec<(DateTime<Utc>, i64)> =
        sqlx::query_as("SELECT tick, job_id FROM herald.cron_ticks ORDER BY tick")
            .fetch_all(&db.pool)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let jobs: Vec<(i64, DateTime<Utc>, i16, String)> = sqlx::query_as(
        "SELECT id, run_at, priority, payload->>'key' FROM herald.jobs ORDER BY run_at",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        jobs.len(),
        ticks.len(),
        "one job per tick: {jobs:?} {ticks:?}"
    );
    for ((tick, job_id), (id, run_at, priority, key)) in ticks.iter().zip(&jobs) {
        assert_eq!((job_id, tick), (id, run_at));
        assert_eq!((*priority, key.as_str()), (2, "cron"));
    }
    for pair in ticks.windows(2) {
        assert_eq!(
            (pair[1].0 - pair[0].0).num_seconds(),
            1,
            "consecutive seconds, none skipped or doubled: {ticks:?}"
        );
    }
    let succeeded: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM herald.attempts WHERE outcome = 'succeeded' AND job_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_one(&db.pool)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        succeeded,
        ids.len() as i64,
        "every tick's job ran and was audited"
    );
    let _ = std::fs::remove_file(&file);
    db.finish().await;
}

#[tokio::test]
async fn a_schedule_for_an_unregistered_type_stops_the_worker_at_start_up() {
    let db = TestDb::new().await;
    let file = write_file(
        &db,
        "[[schedule]]\nname = \"x\"\ncron = \"* * * * * *\"\njob_type = \"no.such.type\"\n",
    );
    let mut env = herald_tests::workers::test_env(&db.url, "w1");
    env.insert("HERALD_CRON_FILE".into(), file.clone());
    let cfg = WorkerConfig::from_lookup(|k| env.get(k).cloned()).unwrap_or_else(|e| panic!("{e}"));
    let registry = herald_tests::jobs::registry(db.pool.clone());
    let err = herald_worker::runtime::run_with_pool(cfg, registry, db.pool.clone(), async {})
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("cron schedule \"x\"") && err.contains("not registered"),
        "{err}"
    );
    let invalid = herald_tests::workers::test_env(&db.url, "w1");
    let mut invalid = invalid;
    invalid.insert("HERALD_CRON_FILE".into(), "/nonexistent/cron.toml".into());
    let err = WorkerConfig::from_lookup(|k| invalid.get(k).cloned())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        err.contains("HERALD_CRON_FILE") && err.contains("cannot read"),
        "{err}"
    );
    let _ = std::fs::remove_file(&file);
    db.finish().await;
}
