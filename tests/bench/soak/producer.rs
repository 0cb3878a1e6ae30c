//! The offered load: `--rate` jobs/s, paced every 100 ms, each tick enqueueing what is
//! due by then (`rate × elapsed`, so a slow tick is caught up by the next) through
//! `herald_jobs::enqueue_many`, at most [`BATCH`] jobs per statement.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use herald_jobs::enqueue::NewJob;
use sqlx::PgPool;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::BenchResult;
use crate::args::Options;
use crate::job::{Order, Plan};

/// Jobs per `enqueue_many` call at most.
pub const BATCH: usize = 1_000;
/// The pace.
const TICK: Duration = Duration::from_millis(100);
/// One enqueue that takes longer means the database is gone: the bench stops.
const ENQUEUE_TIMEOUT: Duration = Duration::from_secs(30);

/// The running producer.
pub struct Producer {
    sent: Arc<AtomicU64>,
    stop: watch::Sender<bool>,
    task: JoinHandle<BenchResult<()>>,
}

/// `n` jobs for the soak: `fail_percent` fail once, `dead_percent` go dead.
pub fn batch(first: u64, n: usize, opts: &Options) -> BenchResult<Vec<NewJob>> {
    (first..first + n as u64)
        .map(|i| {
            let draw = rand::random::<f64>() * 100.0;
            let plan = if draw < opts.dead_percent {
                Plan::Dead
            } else if draw < opts.dead_percent + opts.fail_percent {
                Plan::FailOnce
            } else {
                Plan::Succeed
            };
            Ok(NewJob::new(&Order::numbered(i, plan, opts.payload_bytes)?)?)
        })
        .collect()
}

impl Producer {
    /// Starts offering load on `pool`.
    pub fn start(pool: PgPool, opts: &Options) -> Self {
        let sent = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(offer(pool, opts.clone(), Arc::clone(&sent), stopped));
        Self { sent, stop, task }
    }

    /// Jobs enqueued so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Whether it stopped on its own (an error; see [`Producer::stop`]).
    pub fn has_failed(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops it; its error, if it failed.
    pub async fn stop(mut self) -> BenchResult<()> {
        let _ = self.stop.send(true);
        (&mut self.task).await?
    }
}

impl Drop for Producer {
    /// A bench that ends on an error stops offering load at once.
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn offer(
    pool: PgPool,
    opts: Options,
    sent: Arc<AtomicU64>,
    mut stopped: watch::Receiver<bool>,
) -> BenchResult<()> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(TICK);
    let mut done: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stopped.changed() => return Ok(()),
        }
        let due = (f64::from(opts.rate) * started.elapsed().as_secs_f64()) as u64;
        while done < due {
            let take = usize::try_from(due - done).unwrap_or(BATCH).min(BATCH);
            let jobs = batch(done, take, &opts)?;
            tokio::time::timeout(ENQUEUE_TIMEOUT, herald_jobs::enqueue_many(&pool, jobs))
                .await
                .map_err(|_| "enqueue took over 30 s: is the database reachable?")??;
            done += take as u64;
            sent.store(done, Ordering::Relaxed);
        }
    }
}
