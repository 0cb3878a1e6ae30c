//! Command-line options of the soak bench.

use std::time::Duration;

/// How to call the benchmark.
pub const USAGE: &str = "usage: cargo bench -p herald-tests --bench soak -- [--minutes 20] [--rate 3000] [--workers 2] [--fail-percent 5] [--dead-percent 0.5] [--payload-bytes 260] [--retention 2m] [--json FILE]
       cargo bench -p herald-tests --bench soak -- --bytes-per-job [--jobs 100000] [--payload-bytes 260] [--json FILE]";

/// The shortest `--retention`: a minute's rows are counted up to 65 s after they
/// finished, so they must outlive that before the leader may prune them.
pub const MIN_RETENTION: Duration = Duration::from_secs(90);

/// Which measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Steady load for `--minutes`, pruning as it goes.
    Soak,
    /// Storage per finished job, `jobs` of them, no pruning.
    BytesPerJob {
        /// Jobs enqueued and run per payload size.
        jobs: usize,
    },
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Soak or bytes per job.
    pub mode: Mode,
    /// Minutes of steady load (default 20).
    pub minutes: u32,
    /// Jobs offered per second (default 3,000).
    pub rate: u32,
    /// Worker processes (default 2).
    pub workers: usize,
    /// Percent of jobs that fail once (retryable) and succeed on retry (default 5).
    pub fail_percent: f64,
    /// Percent of jobs that fail terminally and go dead (default 0.5).
    pub dead_percent: f64,
    /// Serialised payload length in bytes (default 260).
    pub payload_bytes: usize,
    /// `HERALD_RETENTION_SUCCEEDED`; dead, cancelled and failed attempts get twice it.
    pub retention: Duration,
    /// Where to write the JSON results, if anywhere.
    pub json: Option<String>,
}

fn number<T: std::str::FromStr>(
    name: &str,
    value: Option<String>,
    ok: impl Fn(&T) -> bool,
    expected: &str,
) -> Result<T, String> {
    let value = value.ok_or_else(|| format!("{name} needs a value"))?;
    value
        .parse()
        .ok()
        .filter(|v| ok(v))
        .ok_or_else(|| format!("{name} {value:?}: expected {expected}"))
}

/// `90s`, `2m`, `1h`, or plain seconds.
fn duration(value: &str) -> Option<Duration> {
    let (digits, unit) = match value.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => value.split_at(i),
        None => (value, "s"),
    };
    let n: u64 = digits.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3_600)?,
        _ => return None,
    };
    Some(Duration::from_secs(secs))
}

impl Options {
    /// Parses `args` (cargo's own `--bench` is accepted and ignored).
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut opts = Self {
            mode: Mode::Soak,
            minutes: 20,
            rate: 3_000,
            workers: 2,
            fail_percent: 5.0,
            dead_percent: 0.5,
            payload_bytes: 260,
            retention: Duration::from_secs(120),
            json: None,
        };
        let (mut bytes, mut jobs) = (false, 100_000);
        let percent = |v: &f64| (0.0..=100.0).contains(v);
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => {}
                "--bytes-per-job" => bytes = true,
                "--jobs" => {
                    jobs = number(&arg, args.next(), |n| *n >= 100, "a number >= 100")?;
                }
                "--minutes" => {
                    opts.minutes =
                        number(&arg, args.next(), |n| (1..=1440).contains(n), "1 to 1440")?;
                }
                "--rate" => {
                    opts.rate = number(
                        &arg,
                        args.next(),
                        |n| (1..=100_000).contains(n),
                        "1 to 100000",
                    )?;
                }
                "--workers" => {
                    opts.workers = number(&arg, args.next(), |n| (1..=16).contains(n), "1 to 16")?;
                }
                "--fail-percent" => {
                    opts.fail_percent = number(&arg, args.next(), percent, "0 to 100")?;
                }
                "--dead-percent" => {
                    opts.dead_percent = number(&arg, args.next(), percent, "0 to 100")?;
                }
                "--payload-bytes" => {
                    opts.payload_bytes = number(
                        &arg,
                        args.next(),
                        |n| (2..=65_536).contains(n),
                        "2 to 65536",
                    )?;
                }
                "--retention" => {
                    let value = args.next().ok_or("--retention needs a duration")?;
                    opts.retention = duration(&value)
                        .filter(|d| *d >= MIN_RETENTION)
                        .ok_or_else(|| {
                            format!(
                                "--retention {value:?}: expected a duration such as 2m or 150s, at least {}s",
                                MIN_RETENTION.as_secs()
                            )
                        })?;
                }
                "--json" => opts.json = Some(args.next().ok_or("--json needs a file name")?),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if opts.fail_percent + opts.dead_percent > 100.0 {
            return Err("--fail-percent plus --dead-percent exceeds 100".into());
        }
        if bytes {
            opts.mode = Mode::BytesPerJob { jobs };
        }
        Ok(opts)
    }
}
