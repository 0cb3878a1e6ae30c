//! Command-line options.

/// How to call the benchmark.
pub const USAGE: &str =
    "usage: cargo bench -p herald-tests --bench throughput -- [--jobs N] [--quick] [--json FILE]";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jobs per drain measurement (default 20,000; 2,000 with `--quick`).
    pub jobs: usize,
    /// The 1–2 minute smoke run: fewer jobs, a smaller history, a shorter latency run.
    pub quick: bool,
    /// Where to write the JSON results, if anywhere.
    pub json: Option<String>,
}

impl Options {
    /// Parses `args` (cargo's own `--bench` is accepted and ignored).
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut jobs, mut quick, mut json) = (None, false, None);
        let mut args = args.peekable();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bench" => {}
                "--quick" => quick = true,
                "--jobs" => {
                    let value = args.next().ok_or("--jobs needs a number")?;
                    let n: usize = value
                        .parse()
                        .ok()
                        .filter(|n| *n >= 100)
                        .ok_or_else(|| format!("--jobs {value:?}: expected a number >= 100"))?;
                    jobs = Some(n);
                }
                "--json" => json = Some(args.next().ok_or("--json needs a file name")?),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let jobs = jobs.unwrap_or(if quick { 2_000 } else { 20_000 });
        Ok(Self { jobs, quick, json })
    }

    /// Jobs enqueued one by one (one round trip each).
    pub fn one_by_one(&self) -> usize {
        self.jobs.min(if self.quick { 500 } else { 3_000 })
    }

    /// Finished jobs and audit rows of the history scenario.
    pub fn history(&self) -> (i64, i64) {
        if self.quick {
            (20_000, 100_000)
        } else {
            (200_000, 1_000_000)
        }
    }

    /// Seconds of steady offered load in the latency run.
    pub fn latency_secs(&self) -> u64 {
        if self.quick { 3 } else { 10 }
    }
}
