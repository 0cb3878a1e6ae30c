//! The results: progress on stderr, a table on stdout, JSON to `--json`.

use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use crate::BenchResult;
use crate::args::Options;

/// One enqueue measurement.
#[derive(Debug, Serialize)]
pub struct EnqueueRow {
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

/// The latency run.
#[derive(Debug, Serialize, Default)]
pub struct Latency {
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

/// Everything measured in one run.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Options in effect.
    pub jobs: usize,
    /// `--quick`.
    pub quick: bool,
    /// `uptime` before the run.
    pub load_before: String,
    /// `uptime` after the run.
    pub load_after: String,
    /// CPUs.
    pub cpus: usize,
    /// Enqueue rates.
    pub enqueue: Vec<EnqueueRow>,
    /// Drain rates.
    pub drain: Vec<DrainRow>,
    /// Latency.
    pub latency: Latency,
    /// Ratios against the targets.
    pub ratios: Vec<(String, f64)>,
    /// Total seconds.
    pub total_secs: f64,
    #[serde(skip)]
    started: Option<Instant>,
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
            load_before: uptime(),
            load_after: String::new(),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            enqueue: Vec::new(),
            drain: Vec::new(),
            latency: Latency::default(),
            ratios: Vec::new(),
            total_secs: 0.0,
            started: Some(Instant::now()),
        }
    }

    /// A progress line on stderr.
    pub fn progress(&self, what: &str) {
        let t = self.started.map_or(0.0, |s| s.elapsed().as_secs_f64());
        eprintln!("[{t:6.1}s] {what}");
    }

    fn rate_of(&self, key: &str) -> Option<f64> {
        self.drain.iter().find(|d| d.key == key).map(|d| d.rate)
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
            "herald audit on / audit off (1 process, c64 = default)",
            herald,
            "herald-1p-c64-noaudit",
        );
        self.ratio(
            "herald audit on / audit off (1 process, c16)",
            "herald-1p-c16-audit",
            "herald-1p-c16-noaudit",
        );
        self.ratio(
            "herald audit on / audit off (4 processes, c64)",
            "herald-4p-c64-audit",
            "herald-4p-c64-noaudit",
        );
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
            "\nHerald throughput benchmark: {} jobs per drain{}; load before {} / after {}; {} CPUs; {:.0} s",
            self.jobs,
            if self.quick { " (--quick)" } else { "" },
            self.load_before,
            self.load_after,
            self.cpus,
            self.total_secs
        )?;
        writeln!(
            out,
            "\n| enqueue | method | jobs | jobs/s |\n|---|---|---:|---:|"
        )?;
        for e in &self.enqueue {
            writeln!(
                out,
                "| {} | {} | {} | {:.0} |",
                e.system, e.method, e.jobs, e.rate
            )?;
        }
        writeln!(
            out,
            "\n| drain | settings | history | jobs | s | jobs/s |\n|---|---|---|---:|---:|---:|"
        )?;
        for d in &self.drain {
            writeln!(
                out,
                "| {} | {} | {} | {} | {:.2} | {:.0} |",
                d.system,
                d.setup,
                if d.history { "yes" } else { "no" },
                d.jobs,
                d.secs,
                d.rate
            )?;
        }
        let l = &self.latency;
        writeln!(out, "\n| latency (enqueue → start) | ms |\n|---|---:|")?;
        writeln!(
            out,
            "| idle worker, median of {} | {:.1} |",
            l.idle_jobs, l.idle_median_ms
        )?;
        writeln!(
            out,
            "| {:.0} jobs/s offered ({} jobs): p50 | {:.1} |",
            l.offered_rate, l.steady_jobs, l.p50_ms
        )?;
        writeln!(
            out,
            "| p95 | {:.1} |\n| p99 | {:.1} |\n| max | {:.1} |",
            l.p95_ms, l.p99_ms, l.max_ms
        )?;
        writeln!(out, "\n| ratio | value |\n|---|---:|")?;
        for (name, r) in &self.ratios {
            writeln!(out, "| {name} | {r:.2} |")?;
        }
        Ok(())
    }
}
