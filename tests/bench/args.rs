//! Command-line options.

/// How to call the benchmark.
pub const USAGE: &str = "usage: cargo bench -p herald-tests --bench throughput -- [--jobs N] [--rounds R] [--only NAME[,NAME...]] [--quick] [--json FILE]";

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Jobs per drain measurement (default 20,000; 2,000 with `--quick`).
    pub jobs: usize,
    /// The 1–2 minute smoke run: fewer jobs, a smaller history, a shorter latency run.
    pub quick: bool,
    /// Where to write the JSON results, if anywhere.
    pub json: Option<String>,
    /// Rounds of every selected measurement, interleaved (round 1 runs them all, then
    /// round 2 ...); the report gives medians (default 3; 1 with `--quick`).
    pub rounds: usize,
    /// Run only the measurements whose name contains one of these (`enqueue`,
    /// `latency`, or a drain key such as `herald-1p-default-audit`); empty = all.
    pub only: Vec<String>,
}

impl Options {
    /// Parses `args` (cargo's own `--bench` is accepted and ignored).
    pub fn parse(args: impl Iterator<Item = String>) -> Result<Self, String> {
        let (mut jobs, mut quick, mut json, mut rounds, mut only) =
            (None, false, None, None, Vec::new());
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
                "--rounds" => {
                    let value = args.next().ok_or("--rounds needs a number")?;
                    let n: usize = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=9).contains(n))
                        .ok_or_else(|| format!("--rounds {value:?}: expected 1 to 9"))?;
                    rounds = Some(n);
                }
                "--only" => {
                    let value = args.next().ok_or("--only needs a name")?;
                    only.extend(
                        value
                            .split(',')
                            .map(str::trim)
                            .filter(|s| !s.is_empty())
                            .map(str::to_owned),
                    );
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        let jobs = jobs.unwrap_or(if quick { 2_000 } else { 20_000 });
        let rounds = rounds.unwrap_or(if quick { 1 } else { 3 });
        Ok(Self {
            jobs,
            quick,
            json,
            rounds,
            only,
        })
    }

    /// Whether the measurement called `name` is selected by `--only`.
    pub fn selects(&self, name: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| name.contains(o.as_str()))
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
