//! Recurring jobs: cron schedules declared in a TOML file named by `HERALD_CRON_FILE`
//! (its format and checks: `crate::config::cron`).
//!
//! Every worker started with the file runs the schedules ([`scheduler`]). Each tick is
//! enqueued **exactly once** however many workers run: the job is inserted in the same
//! statement as a `herald.cron_ticks` row unique per (schedule, tick), so only one
//! worker's insert wins. The job is an ordinary job (retried, audited per attempt) whose
//! `run_at` is the tick. A tick that passes while no worker runs is skipped, not caught
//! up (a running worker that fell behind catches up on ticks up to a minute old); a tick
//! does not wait for the previous tick's job to finish.

pub(crate) mod scheduler;

pub(crate) use crate::config::cron::CronSchedule;
