//! The Prometheus metrics of one worker, in a registry of its own (so several workers
//! in one process, as in the tests, never mix). The table of metrics is in the module
//! doc of `telemetry`.

use std::time::Duration;

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use futures::future::BoxFuture;

use crate::audit::{AttemptObserver, AttemptOutcome, AttemptRecorded, Transition};
use crate::db::DbHealthObserver;

/// Attempt duration buckets, in seconds: 5 ms to 2 minutes.
const DURATION_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// The name of every metric Herald exports (histograms without their suffixes).
pub const NAMES: &[&str] = &[
    "herald_job_attempts_total",
    "herald_job_attempt_duration_seconds",
    "herald_job_retries_scheduled_total",
    "herald_jobs_dead_total",
    "herald_job_panics_total",
    "herald_attempts_rescued_total",
    "herald_queue_jobs",
    "herald_queue_paused_seconds",
    "herald_flow_held_jobs",
    "herald_workflow_batches_open",
    "herald_workflow_open_batch_members",
    "herald_db_pool_connections",
    "herald_db_pool_acquire_timeouts_total",
    "herald_db_pool_acquire_wait_seconds",
    "herald_worker_heartbeat_age_seconds",
    "herald_failure_rate",
    "herald_failure_rate_alert_firing",
    "herald_critical_events_total",
    "herald_maintenance_rows_pruned_total",
    "herald_maintenance_last_success_timestamp_seconds",
    "herald_maintenance_last_run_rows",
    "herald_table_size_bytes",
    "herald_index_size_bytes",
    "herald_table_live_tuples",
    "herald_table_dead_tuples",
    "herald_table_last_vacuum_age_seconds",
    "herald_oldest_xact_age_seconds",
    "herald_xmin_horizon_age_xids",
    "herald_audit_partitions",
];

/// One worker's metrics.
#[derive(Debug, Clone)]
pub(crate) struct Metrics {
    registry: Registry,
    attempts: IntCounterVec,
    duration: HistogramVec,
    retries: IntCounterVec,
    dead: IntCounterVec,
    panics: IntCounterVec,
    rescued: IntCounter,
    pub(crate) queue_jobs: IntGaugeVec,
    pub(crate) queue_paused: GaugeVec,
    /// Runnable jobs a flow limit holds back, by `key` and `reason` (`rate_limit`,
    /// `concurrency_cap`) (`herald_flow_held_jobs`).
    pub(crate) flow_held: IntGaugeVec,
    /// Batches not yet complete (`herald_workflow_batches_open`).
    pub(crate) workflow_open: prometheus::IntGauge,
    /// Their members by `state`: succeeded, dead, cancelled, unsettled
    /// (`herald_workflow_open_batch_members`).
    pub(crate) workflow_members: IntGaugeVec,
    pub(crate) pool: IntGaugeVec,
    pool_timeouts: IntCounter,
    pub(crate) pool_wait: prometheus::Gauge,
    pub(crate) heartbeat_age: GaugeVec,
    failure_rate: GaugeVec,
    alert_firing: IntGaugeVec,
    critical: IntCounterVec,
    pruned: IntCounterVec,
    last_maintenance: prometheus::Gauge,
    /// The storage gauges (`telemetry::storage`), fleet-wide, sampled by every worker.
    pub(crate) storage: StorageGauges,
}

/// The gauges `telemetry::storage` sets from each sample (every worker alike).
#[derive(Debug, Clone)]
pub(crate) struct StorageGauges {
    pub(crate) last_run_rows: IntGaugeVec,
    pub(crate) table_size: IntGaugeVec,
    pub(crate) index_size: IntGaugeVec,
    pub(crate) live: IntGaugeVec,
    pub(crate) dead: IntGaugeVec,
    pub(crate) vacuum_age: GaugeVec,
    pub(crate) oldest_xact_age: prometheus::Gauge,
    pub(crate) xmin_age: prometheus::IntGauge,
    pub(crate) audit_partitions: IntGaugeVec,
}

impl StorageGauges {
    fn new(r: &Registry) -> Self {
        let table = &["table"];
        Self {
            last_run_rows: gauge_vec(
                r,
                "herald_maintenance_last_run_rows",
                "Rows the newest completed pruning run removed, by table (fleet-wide, from herald.maintenance_runs).",
                table,
            ),
            table_size: gauge_vec(
                r,
                "herald_table_size_bytes",
                "Heap and TOAST size of each herald table, partitions summed (pg_table_size).",
                table,
            ),
            index_size: gauge_vec(
                r,
                "herald_index_size_bytes",
                "Size of each herald table's indexes, partitions summed (pg_indexes_size).",
                table,
            ),
            live: gauge_vec(
                r,
                "herald_table_live_tuples",
                "Estimated live rows of each herald table (pg_stat_user_tables.n_live_tup).",
                table,
            ),
            dead: gauge_vec(
                r,
                "herald_table_dead_tuples",
                "Estimated dead rows of each herald table, not yet vacuumed (n_dead_tup).",
                table,
            ),
            vacuum_age: float_gauge_vec(
                r,
                "herald_table_last_vacuum_age_seconds",
                "Seconds since the latest vacuum or autovacuum of each herald table (absent: none recorded).",
                table,
            ),
            oldest_xact_age: {
                let g = prometheus::Gauge::new(
                    "herald_oldest_xact_age_seconds",
                    "Age of the oldest transaction holding this database's xmin horizon (backends and prepared transactions; 0: none).",
                )
                .unwrap_or_else(|_| unreachable!("the horizon gauge is well-formed"));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            xmin_age: {
                let g = prometheus::IntGauge::new(
                    "herald_xmin_horizon_age_xids",
                    "Age in transaction ids of the oldest xmin held by a backend, prepared transaction or replication slot of this database (0: none).",
                )
                .unwrap_or_else(|_| unreachable!("the xmin gauge is well-formed"));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            audit_partitions: gauge_vec(
                r,
                "herald_audit_partitions",
                "Partitions of herald.attempts: present, and ahead of the job id sequence.",
                &["state"],
            ),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable!("metric {name} is well-formed"));
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

fn gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
    let metric = IntGaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable!("metric {name} is well-formed"));
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

fn float_gauge_vec(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
    let metric = GaugeVec::new(Opts::new(name, help), labels)
        .unwrap_or_else(|_| unreachable!("metric {name} is well-formed"));
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let metric = IntCounter::new(name, help)
        .unwrap_or_else(|_| unreachable!("metric {name} is well-formed"));
    let _ = registry.register(Box::new(metric.clone()));
    metric
}

impl Metrics {
    /// A fresh registry with every Herald metric registered.
    pub(crate) fn new() -> Self {
        let r = Registry::new();
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "herald_job_attempt_duration_seconds",
                "How long attempts ran, by job type.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["job_type"],
        )
        .unwrap_or_else(|_| unreachable!("the duration histogram is well-formed"));
        let _ = r.register(Box::new(duration.clone()));
        Self {
            attempts: counter_vec(
                &r,
                "herald_job_attempts_total",
                "Finished attempts, by job type and outcome.",
                &["job_type", "outcome"],
            ),
            duration,
            retries: counter_vec(
                &r,
                "herald_job_retries_scheduled_total",
                "Attempts that ended in a scheduled retry.",
                &["job_type"],
            ),
            dead: counter_vec(
                &r,
                "herald_jobs_dead_total",
                "Jobs that died, terminal or exhausted.",
                &["job_type"],
            ),
            panics: counter_vec(
                &r,
                "herald_job_panics_total",
                "Handler panics.",
                &["job_type"],
            ),
            rescued: counter(
                &r,
                "herald_attempts_rescued_total",
                "Attempts of dead workers audited as abandoned by this worker.",
            ),
            queue_jobs: gauge_vec(
                &r,
                "herald_queue_jobs",
                "Pending, running, retrying and dead jobs by queue and state, fleet-wide.",
                &["queue", "state"],
            ),
            queue_paused: float_gauge_vec(
                &r,
                "herald_queue_paused_seconds",
                "How long each paused queue has been paused (absent when active), fleet-wide.",
                &["queue"],
            ),
            flow_held: gauge_vec(
                &r,
                "herald_flow_held_jobs",
                "Runnable jobs a flow limit holds back (not claimed), by limit key and reason, fleet-wide.",
                &["key", "reason"],
            ),
            workflow_open: {
                let g = prometheus::IntGauge::new(
                    "herald_workflow_batches_open",
                    "Batches whose members have not all settled yet, fleet-wide.",
                )
                .unwrap_or_else(|_| unreachable!("the workflow gauge is well-formed"));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            workflow_members: gauge_vec(
                &r,
                "herald_workflow_open_batch_members",
                "Members of the batches not yet complete, by state: succeeded, dead, cancelled, unsettled.",
                &["state"],
            ),
            pool: gauge_vec(
                &r,
                "herald_db_pool_connections",
                "This worker's database pool: connections in use, idle, and the maximum.",
                &["state"],
            ),
            pool_timeouts: counter(
                &r,
                "herald_db_pool_acquire_timeouts_total",
                "Queries that timed out waiting for a pool connection.",
            ),
            pool_wait: {
                let g = prometheus::Gauge::new(
                    "herald_db_pool_acquire_wait_seconds",
                    "How long the last scrape waited for a pool connection.",
                )
                .unwrap_or_else(|_| unreachable!("the wait gauge is well-formed"));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            heartbeat_age: float_gauge_vec(
                &r,
                "herald_worker_heartbeat_age_seconds",
                "Age of each running worker's last heartbeat, fleet-wide.",
                &["worker"],
            ),
            failure_rate: float_gauge_vec(
                &r,
                "herald_failure_rate",
                "Failed share of this worker's attempts over the failure-rate window (job_type=\"*\": all).",
                &["job_type"],
            ),
            alert_firing: gauge_vec(
                &r,
                "herald_failure_rate_alert_firing",
                "1 while the failure-rate alert is tripped (job_type=\"*\": all).",
                &["job_type"],
            ),
            critical: counter_vec(
                &r,
                "herald_critical_events_total",
                "CRITICAL events emitted, by alert.",
                &["alert"],
            ),
            pruned: counter_vec(
                &r,
                "herald_maintenance_rows_pruned_total",
                "Rows this worker's maintenance runs deleted, by table and class.",
                &["table", "class"],
            ),
            last_maintenance: {
                let g = prometheus::Gauge::new(
                    "herald_maintenance_last_success_timestamp_seconds",
                    "When this worker last completed a maintenance run (Unix time; 0: never). Take the max over workers.",
                )
                .unwrap_or_else(|_| unreachable!("the maintenance gauge is well-formed"));
                let _ = r.register(Box::new(g.clone()));
                g
            },
            storage: StorageGauges::new(&r),
            registry: r,
        }
    }

    /// Starts `job_type`'s counters at 0, so a rate over them counts from the first
    /// scrape even when attempts finish before it.
    pub(crate) fn job_type_registered(&self, job_type: &str) {
        for outcome in [
            AttemptOutcome::Succeeded,
            AttemptOutcome::Retrying,
            AttemptOutcome::Dead,
            AttemptOutcome::Abandoned,
            AttemptOutcome::Interrupted,
            AttemptOutcome::Cancelled,
        ] {
            self.attempts
                .with_label_values(&[job_type, outcome.as_str()]);
        }
        self.retries.with_label_values(&[job_type]);
        self.dead.with_label_values(&[job_type]);
        self.panics.with_label_values(&[job_type]);
        self.failure_rate(job_type, 0.0, false);
        self.failure_rate(super::failure_rate::ALL, 0.0, false);
    }

    /// Counts one finished attempt of `job_type` that ran `duration`.
    pub(crate) fn attempt_finished(
        &self,
        job_type: &str,
        t: &Transition,
        panicked: bool,
        duration: Duration,
    ) {
        self.attempts
            .with_label_values(&[job_type, t.outcome.as_str()])
            .inc();
        self.duration
            .with_label_values(&[job_type])
            .observe(duration.as_secs_f64());
        match t.outcome {
            AttemptOutcome::Retrying => self.retries.with_label_values(&[job_type]).inc(),
            AttemptOutcome::Dead => self.dead.with_label_values(&[job_type]).inc(),
            _ => {}
        }
        if panicked {
            self.panics.with_label_values(&[job_type]).inc();
        }
    }

    /// Counts attempts this worker rescued from dead workers.
    pub(crate) fn rescued(&self, count: usize) {
        self.rescued.inc_by(u64::try_from(count).unwrap_or(0));
    }

    /// Counts a query that timed out waiting for a pool connection.
    pub(crate) fn pool_timed_out(&self) {
        self.pool_timeouts.inc();
    }

    /// Counts a CRITICAL event of `alert`.
    pub(crate) fn critical_event(&self, alert: &str) {
        self.critical.with_label_values(&[alert]).inc();
    }

    /// Sets the failure rate and alert state of `scope` (a job type or `*`).
    pub(crate) fn failure_rate(&self, scope: &str, rate: f64, firing: bool) {
        self.failure_rate.with_label_values(&[scope]).set(rate);
        self.alert_firing
            .with_label_values(&[scope])
            .set(i64::from(firing));
    }

    /// Counts `n` rows of `table` (`class`) deleted by a maintenance batch.
    pub(crate) fn rows_pruned(&self, table: &str, class: &str, n: i64) {
        self.pruned
            .with_label_values(&[table, class])
            .inc_by(u64::try_from(n).unwrap_or(0));
    }

    /// Records that a maintenance run completed at `at`.
    pub(crate) fn maintenance_succeeded(&self, at: chrono::DateTime<chrono::Utc>) {
        self.last_maintenance
            .set(at.timestamp_millis() as f64 / 1000.0);
    }

    /// Every metric in Prometheus' text format.
    pub(crate) fn encode(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The metrics count pool timeouts and CRITICAL events of the database health tracker.
impl DbHealthObserver for Metrics {
    fn pool_timed_out(&self) {
        Metrics::pool_timed_out(self);
    }

    fn critical_event(&self, alert: &'static str) {
        Metrics::critical_event(self, alert);
    }
}

/// The metrics count every recorded attempt (`attempt_finished`).
impl AttemptObserver for Metrics {
    fn attempt_recorded<'a>(&'a self, a: &'a AttemptRecorded<'a>) -> BoxFuture<'a, ()> {
        self.attempt_finished(a.job.job_type, a.transition, a.panicked, a.job.duration);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::JobState;

    #[test]
    fn every_metric_is_named_in_the_list_and_no_other() {
        let m = Metrics::new();
        let t = Transition {
            outcome: AttemptOutcome::Dead,
            job_state: JobState::Dead,
            next_run_at: None,
            failure: None,
            dead_reason: None,
            note: None,
        };
        let retry = Transition {
            outcome: AttemptOutcome::Retrying,
            job_state: JobState::Retrying,
            ..t.clone()
        };
        m.attempt_finished("a", &t, true, Duration::ZERO);
        m.attempt_finished("a", &retry, false, Duration::ZERO);
        m.rescued(1);
        m.queue_jobs.with_label_values(&["q", "pending"]).set(1);
        m.queue_paused.with_label_values(&["q"]).set(1.0);
        m.flow_held.with_label_values(&["k", "rate_limit"]).set(1);
        m.workflow_open.set(1);
        m.workflow_members.with_label_values(&["unsettled"]).set(1);
        m.pool.with_label_values(&["idle"]).set(1);
        m.pool_timed_out();
        m.pool_wait.set(0.1);
        m.heartbeat_age.with_label_values(&["w"]).set(1.0);
        m.failure_rate("*", 0.5, true);
        m.critical_event("x");
        m.rows_pruned("jobs", "succeeded", 1);
        m.maintenance_succeeded(chrono::Utc::now());
        let st = &m.storage;
        for g in [
            &st.last_run_rows,
            &st.table_size,
            &st.index_size,
            &st.live,
            &st.dead,
        ] {
            g.with_label_values(&["jobs"]).set(1);
        }
        st.vacuum_age.with_label_values(&["jobs"]).set(1.0);
        st.oldest_xact_age.set(1.0);
        st.xmin_age.set(1);
        st.audit_partitions.with_label_values(&["ahead"]).set(1);
        let mut exported: Vec<String> = m
            .encode()
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next().map(str::to_owned))
            .collect();
        exported.sort();
        let mut names: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
        names.sort();
        assert_eq!(exported, names);
    }

    #[test]
    fn a_retry_counts_an_attempt_and_a_scheduled_retry() {
        let m = Metrics::new();
        let t = Transition {
            outcome: AttemptOutcome::Retrying,
            job_state: JobState::Retrying,
            next_run_at: None,
            failure: None,
            dead_reason: None,
            note: None,
        };
        m.attempt_finished("mail", &t, true, Duration::from_millis(20));
        let text = m.encode();
        for line in [
            "herald_job_attempts_total{job_type=\"mail\",outcome=\"retrying\"} 1",
            "herald_job_retries_scheduled_total{job_type=\"mail\"} 1",
            "herald_job_panics_total{job_type=\"mail\"} 1",
            "herald_job_attempt_duration_seconds_count{job_type=\"mail\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing in\n{text}");
        }
    }
}
