//! Running a bulk operator action safely: confirmation, batches, throttling and a
//! progress line on a terminal. Shared by `replay`, `cancel` and `purge`.

use std::io::Write;
use std::time::Duration;

use tokio::time::Instant;

use clap::Args;

use super::{CliError, Context};

/// How a bulk action runs.
#[derive(Debug, Clone, Args)]
pub struct BatchArgs {
    /// Jobs changed per statement (each batch commits with its audit record).
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub batch_size: u32,
    /// At most this many jobs per second (`100/s`, `600/m`, `3600/h`, or a number).
    #[arg(long, value_parser = parse_rate)]
    pub rate: Option<f64>,
}

/// The slowest `--rate`: one job an hour.
const MIN_RATE: f64 = 1.0 / 3600.0;
/// The fastest `--rate`: a million jobs a second.
const MAX_RATE: f64 = 1_000_000.0;

/// Parses `100/s`, `600/m`, `3600/h` or a bare number (per second) into jobs/second,
/// from 1/h to 1000000/s.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let (number, per) = text.trim().split_once('/').unwrap_or((text.trim(), "s"));
    let seconds = match per.trim() {
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return Err("not a rate (e.g. 100/s, 600/m)".to_owned()),
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Some(n / seconds)
            .filter(|r| (MIN_RATE..=MAX_RATE).contains(r))
            .ok_or_else(|| "out of range: from 1/h to 1000000/s".to_owned()),
        _ => Err("not a rate (e.g. 100/s, 600/m)".to_owned()),
    }
}

/// Asks whether to `what` (e.g. `replay 12 jobs`) on the terminal; without a terminal,
/// refuses and points at `--yes`.
pub fn confirm(ctx: &mut Context<'_>, what: &str) -> Result<(), CliError> {
    if !ctx.stdin_is_terminal() {
        return Err(CliError::Usage(format!(
            "{what} needs confirmation: pass --yes (stdin is not a terminal); nothing changed"
        )));
    }
    write!(ctx.err, "{what}? [y/N] ")?;
    ctx.err.flush()?;
    let mut answer = String::new();
    ctx.read_line(&mut answer)?;
    match answer.trim() {
        "y" | "Y" | "yes" => Ok(()),
        _ => Err(CliError::Failed("aborted: nothing changed".to_owned())),
    }
}

/// Runs `apply` over `ids` in batches, throttled to `args.rate`, drawing a progress line
/// on `progress` (stderr when it is a terminal: [`Context::progress`]). `apply` returns
/// how many jobs a batch changed. Stops at the first failing batch; the batches before
/// it stay committed.
pub async fn run_batches<F>(
    ids: &[i64],
    args: &BatchArgs,
    verb: &str,
    mut progress: Option<&mut (dyn Write + Send)>,
    mut apply: F,
) -> Result<u64, CliError>
where
    F: AsyncFnMut(&[i64]) -> Result<u64, CliError>,
{
    let mut size = args.batch_size as usize;
    if let Some(rate) = args.rate {
        // A batch never exceeds one second's worth, so throttling stays smooth.
        size = size.min((rate.ceil() as usize).max(1));
    }
    if ids.len() <= size {
        progress = None;
    }
    let started = Instant::now();
    let (mut done, mut changed) = (0usize, 0u64);
    for chunk in ids.chunks(size) {
        changed += apply(chunk).await?;
        done += chunk.len();
        if let Some(line) = progress.as_mut() {
            // The progress line is decoration: a terminal that stops taking it must not
            // stop the action halfway (the report on stdout still tells what changed).
            let _ = write!(line, "\r{verb} {done}/{} ", ids.len());
        }
        if let Some(rate) = args.rate
            && done < ids.len()
        {
            let due = started + Duration::from_secs_f64(done as f64 / rate);
            tokio::time::sleep_until(due).await;
        }
    }
    if let Some(line) = progress {
        let _ = writeln!(line);
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_jobs_per_second() {
        assert_eq!(parse_rate("100/s"), Ok(100.0));
        assert_eq!(parse_rate("600/m"), Ok(10.0));
        assert_eq!(parse_rate("7200/h"), Ok(2.0));
        assert_eq!(parse_rate("5"), Ok(5.0));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("fast").is_err());
        assert!(parse_rate("10/week").is_err());
    }

    #[test]
    fn rates_out_of_range_are_usage_errors_not_a_panic() {
        let out = Err("out of range: from 1/h to 1000000/s".to_owned());
        assert_eq!(parse_rate("1e-300/s"), out);
        assert_eq!(parse_rate("0.5/h"), out);
        assert_eq!(parse_rate("1e300"), out);
        assert_eq!(parse_rate("1/h"), Ok(MIN_RATE));
    }

    #[tokio::test]
    async fn batches_cover_every_id_once_in_order() {
        let ids: Vec<i64> = (1..=7).collect();
        let args = BatchArgs {
            batch_size: 3,
            rate: None,
        };
        let mut seen = Vec::new();
        let changed = run_batches(&ids, &args, "x", None, async |chunk: &[i64]| {
            seen.push(chunk.to_vec());
            Ok(chunk.len() as u64)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed, 7);
        assert_eq!(seen, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    }

    #[tokio::test]
    async fn a_rate_limits_jobs_per_second() {
        let ids: Vec<i64> = (1..=6).collect();
        let args = BatchArgs {
            batch_size: 500,
            rate: Some(3.0),
        };
        let start = Instant::now();
        let mut sizes = Vec::new();
        run_batches(&ids, &args, "x", None, async |chunk: &[i64]| {
            sizes.push(chunk.len());
            Ok(0)
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(sizes, vec![3, 3]);
        // 6 jobs at 3/s: the second batch may not start before one second has passed.
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
