//! Drain rates. For each scenario: a fresh database, (optionally) a large history, N
//! jobs inserted and ANALYZEd BEFORE any worker starts, then the worker processes; the
//! rate is `(finished - 1) / (last finish - first finish)`, both read from the database,
//! so process start-up is not counted.

use std::time::Duration;

use herald_worker::config::DEFAULT_CONCURRENCY;

use crate::args::Options;
use crate::db::{BenchDb, Schema, Workers, wait_until_zero};
use crate::report::{DrainRow, Report};
use crate::{BenchResult, apalis_side, herald_side};

const HERALD_UNFINISHED: &str =
    "SELECT count(*) FROM herald.jobs WHERE state IN ('pending', 'running', 'retrying')";

/// A Herald scenario: processes, concurrency per process (`None` = default). Every
/// attempt writes its audit row: the audit is not optional in Herald, so its cost shows
/// against apalis-postgres, which writes none.
struct HeraldRun {
    procs: usize,
    concurrency: Option<usize>,
    history: bool,
    /// The workflow pair (`--only workflow-`): `Some(true)` the jobs are one batch with a
    /// completion callback (`workflow-batch-…`), `Some(false)` the same jobs independent
    /// (`workflow-independent-…`), measured in the same run.
    workflow: Option<bool>,
    /// The flow-limit pair (`--only limits-`): `Some(true)` a rate limit and a cap on the
    /// bench's job type, both far above what the fleet can reach, so they are checked and
    /// written by every claim and finish but never hold a job (`limits-loose-…`);
    /// `Some(false)` the same run without them (`limits-none-…`), in the same run.
    limits: Option<bool>,
}

/// The loose limit of the `limits-loose-…` scenario: a rate and a cap no run reaches.
const LOOSE_LIMIT: &str = "INSERT INTO herald.flow_limits (key, rate, burst, max_running, tokens, set_by, reason) \
     VALUES ('bench.noop', 1e8, 100000000, 1000000, 1e8, 'bench', 'configured, not binding')";

impl HeraldRun {
    fn key(&self) -> String {
        let c = self
            .concurrency
            .map_or("default".to_owned(), |c| format!("c{c}"));
        let history = if self.history { "-history" } else { "" };
        match (self.limits, self.workflow) {
            (Some(true), _) => format!("limits-loose-{}p-{c}", self.procs),
            (Some(false), _) => format!("limits-none-{}p-{c}", self.procs),
            (None, workflow) => self.workflow_key(workflow, &c, history),
        }
    }

    fn workflow_key(&self, workflow: Option<bool>, c: &str, history: &str) -> String {
        match workflow {
            Some(true) => format!("workflow-batch-{}p-{c}", self.procs),
            Some(false) => format!("workflow-independent-{}p-{c}", self.procs),
            None => format!("herald-{}p-{c}-audit{history}", self.procs),
        }
    }

    fn setup(&self) -> String {
        let c = self.concurrency.map_or(
            format!("default concurrency ({DEFAULT_CONCURRENCY})"),
            |c| format!("concurrency {c}"),
        );
        let shape = match (self.limits, self.workflow) {
            (Some(true), _) => ", a rate limit and a cap on the type, not binding",
            (Some(false), _) => ", no flow limit",
            (None, Some(true)) => ", one batch + a completion callback",
            (None, Some(false)) => ", independent jobs",
            (None, None) => "",
        };
        format!("{} process(es), {c}, audit on{shape}", self.procs)
    }
}

fn herald_runs() -> Vec<HeraldRun> {
    let mut runs = Vec::new();
    // One process is latency-bound (each attempt holds its slot until its batch
    // commits), so more slots move more jobs: the lever a user has.
    for (procs, concurrency) in [
        (1, None),
        (1, Some(16)),
        (1, Some(64)),
        (1, Some(128)),
        (4, Some(16)),
        (4, Some(64)),
    ] {
        runs.push(HeraldRun {
            procs,
            concurrency,
            history: false,
            workflow: None,
            limits: None,
        });
    }
    runs.push(HeraldRun {
        procs: 1,
        concurrency: None,
        history: true,
        workflow: None,
        limits: None,
    });
    runs.push(HeraldRun {
        procs: 4,
        concurrency: Some(64),
        history: true,
        workflow: None,
        limits: None,
    });
    for batch in [false, true] {
        runs.push(HeraldRun {
            procs: 1,
            concurrency: None,
            history: false,
            workflow: Some(batch),
            limits: None,
        });
    }
    for (procs, concurrency) in [(1, None), (4, Some(64))] {
        for limited in [false, true] {
            runs.push(HeraldRun {
                procs,
                concurrency,
                history: false,
                workflow: None,
                limits: Some(limited),
            });
        }
    }
    runs
}

/// Runs every drain scenario, Herald then apalis-postgres.
pub async fn run(server: &str, opts: &Options, report: &mut Report) -> BenchResult<()> {
    for run in herald_runs() {
        // The workflow and limit pairs run only when asked for (`--only workflow-`,
        // `--only limits-`).
        let asked = (run.workflow.is_none() && run.limits.is_none()) || !opts.only.is_empty();
        if !asked || !opts.selects(&run.key()) {
            continue;
        }
        report.progress(&format!("drain: {}", run.key()));
        let row = herald(server, opts, &run).await?;
        report.progress(&format!("  {:.0} jobs/s", row.rate));
        report.push_drain(row);
    }
    for (workers, batch, key) in [
        (1, None, "apalis-1w-default"),
        (4, Some(100), "apalis-4w-b100"),
    ] {
        if !opts.selects(key) {
            continue;
        }
        report.progress(&format!("drain: {key}"));
        let row = apalis(server, opts, workers, batch, key).await?;
        report.progress(&format!("  {:.0} jobs/s", row.rate));
        report.push_drain(row);
    }
    Ok(())
}

fn timeout(jobs: usize) -> Duration {
    Duration::from_secs(60 + (jobs / 200) as u64)
}

async fn herald(server: &str, opts: &Options, run: &HeraldRun) -> BenchResult<DrainRow> {
    let db = BenchDb::create(server, Schema::Herald).await?;
    herald_side::create_partitions_ahead(&db.pool).await?;
    if run.history {
        let (jobs, attempts) = opts.history();
        herald_side::generate_history(&db.pool, jobs, attempts).await?;
    }
    let first_id: i64 = sqlx::query_scalar("SELECT coalesce(max(id), 0) + 1 FROM herald.jobs")
        .fetch_one(&db.pool)
        .await?;
    if run.workflow == Some(true) {
        herald_side::enqueue_one_batch(&db.pool, opts.jobs).await?;
    } else {
        herald_side::enqueue_batched(&db.pool, opts.jobs).await?;
    }
    if run.limits == Some(true) {
        sqlx::raw_sql(LOOSE_LIMIT).execute(&db.pool).await?;
    }
    sqlx::raw_sql("ANALYZE herald.jobs")
        .execute(&db.pool)
        .await?;
    let env = herald_side::worker_env(&db.url, run.concurrency);
    let workers = Workers::spawn("herald", run.procs, &env)?;
    let done = wait_until_zero(&db.pool, HERALD_UNFINISHED, timeout(opts.jobs)).await?;
    workers.stop(Duration::from_secs(10));
    if !done {
        eprintln!(
            "  {}: did not finish in time; the rate covers what did",
            run.key()
        );
    }
    let (jobs, secs) = herald_side::drain_span(&db.pool, first_id).await?;
    db.drop_now().await?;
    Ok(DrainRow {
        round: 0,
        key: run.key(),
        system: "herald",
        setup: run.setup(),
        history: run.history,
        jobs,
        secs,
        rate: (jobs - 1).max(0) as f64 / secs.max(1e-9),
    })
}

async fn apalis(
    server: &str,
    opts: &Options,
    workers: usize,
    batch: Option<usize>,
    key: &str,
) -> BenchResult<DrainRow> {
    let db = BenchDb::create(server, Schema::Apalis).await?;
    apalis_side::enqueue_bulk(&db.pool, opts.jobs).await?;
    sqlx::raw_sql("ANALYZE apalis.jobs")
        .execute(&db.pool)
        .await?;
    let env = apalis_side::worker_env(&db.url, workers, batch);
    let children = Workers::spawn("apalis", 1, &env)?;
    let done = wait_until_zero(&db.pool, apalis_side::UNFINISHED, timeout(opts.jobs)).await?;
    children.stop(Duration::from_secs(10));
    if !done {
        eprintln!("  {key}: did not finish in time; the rate covers what did");
    }
    let (jobs, secs) = apalis_side::drain_span(&db.pool).await?;
    db.drop_now().await?;
    let setup = match batch {
        Some(b) => format!("{workers} workers in 1 process, fetch batch {b}"),
        None => format!("{workers} worker, default settings (fetch batch 10)"),
    };
    Ok(DrainRow {
        round: 0,
        key: key.to_owned(),
        system: "apalis-postgres",
        setup,
        history: false,
        jobs,
        secs,
        rate: (jobs - 1).max(0) as f64 / secs.max(1e-9),
    })
}
