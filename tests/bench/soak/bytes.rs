//! Bytes per job: on a fresh database, `--jobs` jobs enqueued, run to completion by one
//! worker (maintenance off, so nothing is pruned), then `VACUUM ANALYZE`; the growth of
//! `herald.jobs`, of `herald.attempts` and of all of Herald's tables (indexes and TOAST
//! included, `pg_total_relation_size`) divided by the jobs. Once with a `--payload-bytes`
//! payload, once with `{}`; each also after `VACUUM FULL` (live rows only, no free
//! space left by the jobs' updates).

use std::time::Duration;

use herald_jobs::Job;
use herald_jobs::enqueue::NewJob;
use serde::Serialize;
use serde_json::json;

use crate::BenchResult;
use crate::args::Options;
use crate::db::{BenchDb, Schema, Workers, wait_until_zero};
use crate::job::{self, Order, Plan};
use crate::report::{self, out};
use crate::soak::wait_for_workers;
use crate::storage::Storage;

/// How long one worker gets to run them all.
const RUN_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// Growth per job after one payload size's run.
#[derive(Debug, Serialize)]
pub struct BytesPerJob {
    /// `N-byte payload` or `{}`.
    pub payload: String,
    /// Jobs run.
    pub jobs: usize,
    /// Mean `pg_column_size(payload)` (jsonb as stored), bytes.
    pub payload_stored: f64,
    /// After `VACUUM`: `herald.jobs`, `herald.attempts`, all tables, bytes per job.
    pub after_vacuum: [f64; 3],
    /// After `VACUUM FULL`, the same.
    pub after_vacuum_full: [f64; 3],
}

fn per_job(before: &Storage, after: &Storage, n: usize) -> [f64; 3] {
    let delta = |f: &dyn Fn(&Storage) -> i64| (f(after) - f(before)) as f64 / n as f64;
    [
        delta(&|s| s.table_bytes("jobs")),
        delta(&|s| s.table_bytes("attempts")),
        delta(&|s| s.bytes()),
    ]
}

/// Runs both payload sizes and prints the table.
pub async fn run(server: &str, opts: &Options, jobs: usize) -> BenchResult<()> {
    let mut rows = Vec::with_capacity(2);
    for payload in [Some(opts.payload_bytes), None] {
        let label = payload.map_or_else(|| "{}".to_owned(), |b| format!("{b}-byte payload"));
        report::progress(&format!("bytes per job: {jobs} jobs, {label}"));
        let db = BenchDb::create(server, Schema::Herald).await?;
        let outcome = measure(&db, jobs, payload, label).await;
        if let Err(e) = db.drop_now().await {
            eprintln!("soak: could not drop the bench database: {e}");
        }
        rows.push(outcome?);
    }
    out(&format!(
        "bytes per finished job ({jobs} jobs, one attempt each; indexes and TOAST included)"
    ));
    out(&format!(
        "{:<20} {:>14} | {:>8} {:>9} {:>8} | {:>8} {:>9} {:>8}",
        "payload", "stored payload", "jobs", "attempts", "total", "jobs", "attempts", "total"
    ));
    out(&format!(
        "{:<20} {:>14} | {:^27} | {:^27}",
        "", "", "after VACUUM", "after VACUUM FULL"
    ));
    for r in &rows {
        let [j, a, t] = r.after_vacuum;
        let [fj, fa, ft] = r.after_vacuum_full;
        out(&format!(
            "{:<20} {:>14.1} | {j:>8.1} {a:>9.1} {t:>8.1} | {fj:>8.1} {fa:>9.1} {ft:>8.1}",
            r.payload, r.payload_stored
        ));
    }
    if let Some(path) = &opts.json {
        report::write_json(path, &json!({ "bench": "bytes-per-job", "rows": rows }))?;
    }
    Ok(())
}

async fn vacuum(db: &BenchDb, full: bool) -> BenchResult<Storage> {
    let sql = if full {
        "VACUUM FULL"
    } else {
        "VACUUM ANALYZE"
    };
    sqlx::raw_sql(sql).execute(&db.pool).await?;
    Storage::read(&db.pool).await
}

async fn measure(
    db: &BenchDb,
    n: usize,
    payload: Option<usize>,
    label: String,
) -> BenchResult<BytesPerJob> {
    let before = vacuum(db, false).await?;
    let mut done = 0;
    while done < n {
        let take = (n - done).min(1_000);
        let jobs = (done..done + take)
            .map(|i| match payload {
                Some(bytes) => Ok(NewJob::new(&Order::numbered(
                    i as u64,
                    Plan::Succeed,
                    bytes,
                )?)?),
                None => Ok(NewJob::from_json(Order::KIND, "default", 5, json!({}))?),
            })
            .collect::<BenchResult<Vec<_>>>()?;
        herald_jobs::enqueue_many(&db.pool, jobs).await?;
        done += take;
    }
    let env = [
        ("BENCH_DATABASE_URL", db.url.clone()),
        ("HERALD_MAINTENANCE_ENABLED", "false".to_owned()),
    ];
    let workers = Workers::spawn(job::ROLE, 1, &env)?;
    let finished = async {
        wait_for_workers(&db.pool, 1).await?;
        wait_until_zero(
            &db.pool,
            "SELECT count(*) FROM herald.jobs WHERE state IN ('pending', 'running', 'retrying')",
            RUN_TIMEOUT,
        )
        .await
    }
    .await;
    tokio::task::spawn_blocking(move || workers.stop(Duration::from_secs(30))).await?;
    if !finished? {
        return Err(format!("{n} jobs did not finish within {RUN_TIMEOUT:?}").into());
    }
    let (succeeded, attempts): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM herald.jobs WHERE state = 'succeeded'), (SELECT count(*) FROM herald.attempts)",
    )
    .fetch_one(&db.pool)
    .await?;
    if succeeded != n as i64 || attempts != n as i64 {
        return Err(format!(
            "expected {n} succeeded jobs with one attempt each, found {succeeded} and {attempts} attempts"
        )
        .into());
    }
    let after = vacuum(db, false).await?;
    let payload_stored: f64 =
        sqlx::query_scalar("SELECT avg(pg_column_size(payload))::float8 FROM herald.jobs")
            .fetch_one(&db.pool)
            .await?;
    let full = vacuum(db, true).await?;
    Ok(BytesPerJob {
        payload: label,
        jobs: n,
        payload_stored,
        after_vacuum: per_job(&before, &after, n),
        after_vacuum_full: per_job(&before, &full, n),
    })
}
