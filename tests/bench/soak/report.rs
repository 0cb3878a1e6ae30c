//! The soak's output: progress on stderr, a line per minute and the verdicts on stdout,
//! JSON to `--json`.
//!
//! # Verdicts (runs of 15 minutes or more)
//!
//! | metric | compared |
//! |---|---|
//! | throughput | mean completed jobs/s |
//! | p99 enqueue → start | mean of the minutes' p99 |
//! | total size | mean bytes of Herald's tables |
//! | worker memory | mean of all workers' RSS |
//!
//! PASS when last 5 / minutes 6–10 is within 10 % either way (0.90 to 1.10): a steady
//! state neither slows down or grows, nor is still shrinking or speeding up. The bench
//! exits 0 either way.

use std::io::Write;

use serde::Serialize;
use serde_json::json;

use crate::BenchResult;
use crate::args::Options;
use crate::soak::Minute;

/// The fewest minutes the verdict needs (minutes 6–10 plus five more after a gap).
pub const VERDICT_MINUTES: usize = 15;

const MB: f64 = 1024.0 * 1024.0;

/// A progress line on stderr.
pub fn progress(message: &str) {
    eprintln!("soak: {message}");
}

/// A line on stdout.
pub fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1}"))
}

/// The column heads.
pub fn header(workers: usize) {
    out(&format!(
        "{:>4} {:>9} {:>8} {:>8} {:>13} {:>9} {:>10} {:>7} {:>9}  {:<width$} {:>9}",
        "min",
        "done/s",
        "p50 ms",
        "p99 ms",
        "size bytes",
        "size MB",
        "dead tup",
        "prunes",
        "pruned",
        "worker RSS MB",
        "offered/s",
        width = (7 * workers).max(13),
    ));
}

/// One minute's line.
pub fn minute(m: &Minute) {
    let rss: Vec<String> = m
        .worker_rss_kib
        .iter()
        .map(|k| k.map_or_else(|| "gone".into(), |k| format!("{:.1}", k as f64 / 1024.0)))
        .collect();
    out(&format!(
        "{:>4} {:>9.1} {:>8} {:>8} {:>13} {:>9.1} {:>10} {:>7} {:>9}  {:<width$} {:>9.1}",
        m.minute,
        m.completed_per_sec,
        ms(m.p50_ms),
        ms(m.p99_ms),
        m.storage_bytes,
        m.storage_bytes as f64 / MB,
        m.dead_tuples,
        m.prune_runs,
        m.jobs_pruned,
        rss.join(","),
        m.offered_per_sec,
        width = (7 * m.worker_rss_kib.len()).max(13),
    ));
}

/// One metric compared.
#[derive(Debug, Serialize)]
pub struct Verdict {
    /// What.
    pub metric: &'static str,
    /// Its mean over minutes 6–10.
    pub minutes_6_to_10: f64,
    /// Its mean over the last 5 minutes.
    pub last_5: f64,
    /// `last_5 / minutes_6_to_10`.
    pub ratio: f64,
    /// Within 10 % either way (0.90 to 1.10).
    pub pass: bool,
}

/// A compared metric: its name and how a minute gives it.
type Metric = (&'static str, fn(&Minute) -> f64);

fn mean(rows: &[Minute], f: impl Fn(&Minute) -> f64) -> f64 {
    rows.iter().map(f).sum::<f64>() / rows.len().max(1) as f64
}

/// The comparison, or `None` when the run is shorter than [`VERDICT_MINUTES`].
pub fn verdicts(rows: &[Minute]) -> Option<Vec<Verdict>> {
    if rows.len() < VERDICT_MINUTES {
        return None;
    }
    let (second, last) = (&rows[5..10], &rows[rows.len() - 5..]);
    let metrics: [Metric; 4] = [
        ("throughput (completed jobs/s)", |m| m.completed_per_sec),
        ("p99 enqueue -> start (ms)", |m| {
            m.p99_ms.unwrap_or(f64::NAN)
        }),
        ("total size (MB)", |m| m.storage_bytes as f64 / MB),
        ("worker memory (RSS MB, all workers)", |m| {
            m.rss_kib() as f64 / 1024.0
        }),
    ];
    Some(
        metrics
            .into_iter()
            .map(|(metric, f)| {
                let (before, after) = (mean(second, f), mean(last, f));
                let ratio = after / before;
                let pass = (0.90..=1.10).contains(&ratio);
                Verdict {
                    metric,
                    minutes_6_to_10: before,
                    last_5: after,
                    ratio,
                    pass,
                }
            })
            .collect(),
    )
}

/// Prints the verdicts (or why there are none) and writes `--json`.
pub fn finish(opts: &Options, rows: &[Minute]) -> BenchResult<()> {
    let verdicts = verdicts(rows);
    out("");
    match &verdicts {
        None => out(&format!(
            "{} minutes: too short for the verdict (it compares the last 5 minutes with minutes 6-10, so it needs {VERDICT_MINUTES})",
            rows.len()
        )),
        Some(verdicts) => {
            out("last 5 minutes vs minutes 6-10 (PASS: within 10 % either way)");
            for v in verdicts {
                out(&format!(
                    "  {:<38} {:>10.1} -> {:>10.1}  ratio {:>5.2}  {}",
                    v.metric,
                    v.minutes_6_to_10,
                    v.last_5,
                    v.ratio,
                    if v.pass { "PASS" } else { "FAIL" }
                ));
            }
        }
    }
    if let Some(path) = &opts.json {
        let doc = json!({
            "bench": "soak",
            "options": {
                "minutes": opts.minutes,
                "rate": opts.rate,
                "workers": opts.workers,
                "fail_percent": opts.fail_percent,
                "dead_percent": opts.dead_percent,
                "payload_bytes": opts.payload_bytes,
                "retention_secs": opts.retention.as_secs(),
            },
            "minutes": rows,
            "verdicts": verdicts,
        });
        write_json(path, &doc)?;
    }
    Ok(())
}

/// Writes `doc` to `path`, pretty.
pub fn write_json(path: &str, doc: &serde_json::Value) -> BenchResult<()> {
    std::fs::write(path, serde_json::to_string_pretty(doc)?)?;
    progress(&format!("wrote {path}"));
    Ok(())
}
