//! The results: progress on stderr, a table on stdout, JSON to `--json`.

use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use crate::BenchResult;
use crate::args::Options;

/// One enqueue measurement.
#[derive(Debug, Serialize)]
pub struct EnqueueRow {
    /// The round it was measured in (1-based).
    pub round: usize,
    /// `herald` or `apalis-postgres`.
    pub system: &'static str,
    /// How.
    pub method: String,
    /// Jobs enqueued.
    pub jobs: usize,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Jobs per second.
    pub rate: f64,
}

/// One drain measurement.
#[derive(Debug, Serialize, Clone)]
pub struct DrainRow {
    /// The round it was measured in (1-based).
    pub round: usize,
    /// Short name used for ratios.
    pub key: String,
    /// `herald` or `apalis-postgres`.
    pub system: &'static str,
    /// Settings in words.
    pub setup: String,
    /// Whether a large history was present.
    pub history: bool,
    /// Jobs finished.
    pub jobs: i64,
    /// Seconds from the first to the last finish (database timestamps).
    pub secs: f64,
    /// `(jobs - 1) / secs`.
    pub rate: f64,
}

/// One latency run.
#[derive(Debug, Serialize, Default)]
pub struct Latency {
    /// The round it was measured in (1-based).
    pub round: usize,
    /// Jobs enqueued one at a time into an idle worker.
    pub idle_jobs: usize,
    /// Their median enqueue → start, ms.
    pub idle_median_ms: f64,
    /// Offered load actually achieved, jobs/s.
    pub offered_rate: f64,
    /// Jobs in the steady run.
    pub steady_jobs: usize,
    /// Enqueue → start percentiles, ms.
    pub p50_ms: f64,
    /// 95th percentile, ms.
    pub p95_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
}

/// The best Celery + Redis drain rate in the reference measurements (two solo
/// workers, same kind of machine): not measured here, quoted for the 8× target.
pub const CELERY_REDIS_BEST: f64 = 2_000.0;

/// Everything measured in one run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Options in effect.
    pub jobs: usize,
    /// `--quick`.
    pub quick: bool,
    /// Rounds run.
    pub rounds: usize,
    /// `uptime` before the run.
    pub load_before: String,
    /// `uptime` after the run.
    pub load_after: String,
    /// CPUs.
    pub cpus: usize,
    /// Enqueue rates, every round.
    pub enqueue: Vec<EnqueueRow>,
    /// Drain rates, every round.
    pub drain: Vec<DrainRow>,
    /// Latency, every round.
    pub latency: Vec<Latency>,
    /// Ratios of medians against the targets.
    pub ratios: Vec<(String, f64)>,
    /// Total seconds.
    pub total_secs: f64,
    /// The round being measured (1-based).
    #[serde(skip)]
    pub round: usize,
    #[serde(skip)]
    started: Option<Instant>,
}

/// The median of `values` (the mean of the middle two for an even count); NaN if empty.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// The distinct values of `key` over `items`, in first-seen order.
fn distinct<T, K: PartialEq>(items: &[T], key: impl Fn(&T) -> K) -> Vec<K> {
    let mut seen: Vec<K> = Vec::new();
    for item in items {
        let k = key(item);
        if !seen.contains(&k) {
            seen.push(k);
        }
    }
    seen
}

fn uptime() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

impl Report {
    /// An empty report; notes the load.
    pub fn start(opts: &Options) -> Self {
        Self {
            jobs: opts.jobs,
            quick: opts.quick,
            rounds: opts.rounds,
            load_before: uptime(),
            load_after: String::new(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            enqueue: Vec::new(),
            drain: Vec::new(),
            latency: Vec::new(),
            ratios: Vec::new(),
            total_secs: 0.0,
            round: 1,
            started: Some(Instant::now()),
        }
    }

    /// A progress line on stderr.
    pub fn progress(&self, what: &str) {
        let t = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        eprintln!("[{t:6.1}s] {what}");
    }

    /// Records an enqueue measurement of the current round.
    pub fn push_enqueue(&mut self, row: EnqueueRow) {
        self.enqueue.push(EnqueueRow {
            round: self.round,
            ..row
        });
    }

    /// Records a drain measurement of the current round.
    pub fn push_drain(&mut self, row: DrainRow) {
        self.drain.push(DrainRow {
            round: self.round,
            ..row
        });
    }

    /// Records a latency run of the current round.
    pub fn push_latency(&mut self, run: Latency) {
        self.latency.push(Latency {
            round: self.round,
            ..run
        });
    }

    /// Every round's rate of drain scenario `key`.
    fn rates_of(&self, key: &str) -> Vec<f64> {
        self.drain
            .iter()
            .filter(|d| d.key == key)
            .map(|d| d.rate)
            .collect()
    }

    /// The median rate of drain scenario `key` over the rounds.
    fn rate_of(&self, key: &str) -> Option<f64> {
        let rates = self.rates_of(key);
        (!rates.is_empty()).then(|| median(rates))
    }

    fn ratio(&mut self, name: &str, num: &str, den: &str) {
        if let (Some(a), Some(b)) = (self.rate_of(num), self.rate_of(den))
            && b > 0.0
        {
            self.ratios.push((name.to_owned(), a / b));
        }
    }

    /// Computes the ratios, prints the table, writes the JSON.
    pub fn finish(mut self, opts: &Options) -> BenchResult<()> {
        if self.enqueue.is_empty() && self.drain.is_empty() && self.latency.is_empty() {
            return Err(format!(
                "--only {:?} selects no measurement (names: enqueue, latency, herald-1p-default-audit, herald-4p-c64-audit, apalis-4w-b100, …)",
                opts.only.join(",")
            )
            .into());
        }
        self.load_after = uptime();
        self.total_secs = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        let herald = "herald-1p-default-audit";
        self.ratio(
            "herald 1 process default / apalis best (4 workers, batch 100)",
            herald,
            "apalis-4w-b100",
        );
        self.ratio(
            "herald 1 process default / apalis default (1 worker, batch 10)",
            herald,
            "apalis-1w-default",
        );
        self.ratio(
            "herald with history / herald empty (1 process default)",
            "herald-1p-default-audit-history",
            herald,
        );
        self.ratio(
            "workflow: independent jobs / one batch with a completion callback (1 process default; 1.20 = 20 % overhead)",
            "workflow-independent-1p-default",
            "workflow-batch-1p-default",
        );
        for procs in ["1p-default", "4p-c64"] {
            self.ratio(
                &format!("limits: none / configured, not binding ({procs}; 1.05 = 5 % overhead)"),
                &format!("limits-none-{procs}"),
                &format!("limits-loose-{procs}"),
            );
        }
        for key in [
            "herald-1p-default-audit",
            "herald-1p-c128-audit",
            "herald-4p-c64-audit",
        ] {
            if let Some(rate) = self.rate_of(key) {
                self.ratios.push((
                    format!("{key} / best Celery + Redis in the issue (2,000 jobs/s)"),
                    rate / CELERY_REDIS_BEST,
                ));
            }
        }
        let mut out = std::io::stdout().lock();
        self.print(&mut out)?;
        if let Some(path) = &opts.json {
            std::fs::write(path, serde_json::to_string_pretty(&self)?)?;
            writeln!(out, "JSON written to {path}")?;
        }
        Ok(())
    }

    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(
            out,
            "\nHerald throughput benchmark: {} jobs per drain{}; medians of {} interleaved round(s); load before {} / after {}; {} CPUs; {:.0} s",
            self.jobs,
            if self.quick { " (--quick)" } else { "" },
            self.rounds,
            self.load_before,
            self.load_after,
            self.cpus,
            self.total_secs
        )?;
        if !self.enqueue.is_empty() {
            writeln!(
                out,
                "\n| enqueue | method | jobs | jobs/s (median) | each round |\n|---|---|---:|---:|---|"
            )?;
            for (system, method) in distinct(&self.enqueue, |e| (e.system, e.method.clone())) {
                let rows: Vec<&EnqueueRow> = self
                    .enqueue
                    .iter()
                    .filter(|e| e.system == system && e.method == method)
                    .collect();
                let rates: Vec<f64> = rows.iter().map(|e| e.rate).collect();
                writeln!(
                    out,
                    "| {system} | {method} | {} | {:.0} | {} |",
                    rows.first().map_or(0, |e| e.jobs),
                    median(rates.clone()),
                    each(&rates)
                )?;
            }
        }
        if !self.drain.is_empty() {
            writeln!(
                out,
                "\n| drain | settings | history | jobs | jobs/s (median) | each round |\n|---|---|---|---:|---:|---|"
            )?;
            for key in distinct(&self.drain, |d| d.key.clone()) {
                let Some(first) = self.drain.iter().find(|d| d.key == key) else {
                    continue;
                };
                let rates = self.rates_of(&key);
                writeln!(
                    out,
                    "| {} | {} | {} | {} | {:.0} | {} |",
                    first.system,
                    first.setup,
                    if first.history { "yes" } else { "no" },
                    first.jobs,
                    median(rates.clone()),
                    each(&rates)
                )?;
            }
        }
        if !self.latency.is_empty() {
            let m = |f: fn(&Latency) -> f64| median(self.latency.iter().map(f).collect());
            writeln!(
                out,
                "\n| latency (enqueue → start), median over rounds | ms |\n|---|---:|"
            )?;
            writeln!(
                out,
                "| idle worker, median of {} jobs | {:.1} |",
                self.latency.first().map_or(0, |l| l.idle_jobs),
                m(|l| l.idle_median_ms)
            )?;
            writeln!(
                out,
                "| {:.0} jobs/s offered ({} jobs): p50 | {:.1} |",
                m(|l| l.offered_rate),
                self.latency.first().map_or(0, |l| l.steady_jobs),
                m(|l| l.p50_ms)
            )?;
            writeln!(
                out,
                "| p95 | {:.1} |\n| p99 | {:.1} |\n| max | {:.1} |",
                m(|l| l.p95_ms),
                m(|l| l.p99_ms),
                m(|l| l.max_ms)
            )?;
        }
        if !self.ratios.is_empty() {
            writeln!(out, "\n| ratio of medians | value |\n|---|---:|")?;
            for (name, r) in &self.ratios {
                writeln!(out, "| {name} | {r:.2} |")?;
            }
        }
        Ok(())
    }
}

/// Each round's rate, rounded, in round order.
fn each(rates: &[f64]) -> String {
    rates
        .iter()
        .map(|r| format!("{r:.0}"))
        .collect::<Vec<_>>()
        .join(" / ")
}
