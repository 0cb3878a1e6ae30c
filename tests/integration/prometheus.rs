//! A real Prometheus (Debian package `prometheus`) scrapes a running `herald worker`
//! with Herald's shipped rules and reports `HeraldJobFailureRateHigh` firing while the
//! demo's webhook mix (about 37 % of attempts fail) runs against the demo's receiver.
//! Scrape and evaluation intervals are 1 s to keep it short.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use herald::demo::{DEMO_SIGNING_KEY, MIX};
use herald_jobs::enqueue::{NewJob, enqueue};
use herald_jobs::notify::WebhookJob;
use herald_testkit::receiver::{Receiver, SCENARIOS};
use herald_tests::db::TestDb;
use herald_tests::metrics::free_addr;
use herald_tests::wait::eventually;
use serde_json::Value;
use sqlx::PgPool;

use crate::cli::herald_bin;

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn write_config(dir: &Path, target: std::net::SocketAddr) -> std::path::PathBuf {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/prometheus/herald-rules.yml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\nscrape_configs:\n  - job_name: herald\n    static_configs:\n      - targets: ['{target}']\n",
        rules.display()
    );
    let path = dir.join("prometheus.yml");
    std::fs::write(&path, config).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// Enqueues one cycle of the demo's mix (20 jobs).
async fn enqueue_cycle(pool: &PgPool, receiver: &Receiver, cycle: usize) {
    for (scenario, count) in SCENARIOS.iter().zip(MIX) {
        for n in 0..count {
            let job = WebhookJob {
                url: receiver.url(scenario),
                body: serde_json::json!({ "cycle": cycle, "n": n }),
            };
            let new = NewJob::new(&job)
                .unwrap_or_else(|e| panic!("{e}"))
                .max_attempts(3);
            enqueue(pool, new).await.unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

async fn get_json(url: &str) -> Option<Value> {
    reqwest::get(url).await.ok()?.json().await.ok()
}

#[tokio::test]
async fn prometheus_fires_the_failure_rate_alert_while_the_demo_mix_runs() {
    let db = TestDb::new().await;
    let metrics = free_addr();
    let web = free_addr();
    let dir = std::env::temp_dir().join(format!("herald-prometheus-{}", web.port()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let config = write_config(&dir, metrics);
    let prometheus = Running(
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={web}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start prometheus (Debian package `prometheus`): {e}")),
    );
    eventually(
        "Prometheus to be ready",
        Duration::from_secs(30),
        || async {
            let r = reqwest::get(format!("http://{web}/-/ready")).await.ok()?;
            r.status().is_success().then_some(())
        },
    )
    .await;

    let receiver = Receiver::start(DEMO_SIGNING_KEY)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut worker = Running(
        Command::new(herald_bin())
            .args(["worker", "--metrics-addr", &metrics.to_string()])
            .env("DATABASE_URL", &db.url)
            .env("HERALD_WORKER_ID", "scraped-by-prometheus")
            .env("HERALD_WEBHOOK_SIGNING_KEYS", DEMO_SIGNING_KEY)
            .env("HERALD_RETRY_BASE", "200ms")
            .env("HERALD_RETRY_MAX", "1s")
            .env("HERALD_SHUTDOWN_GRACE", "2s")
            .env("HERALD_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start herald worker: {e}")),
    );
    // The mix keeps running, one cycle every 300 ms, until Prometheus reports the alert.
    let feeder = {
        let pool = db.pool.clone();
        tokio::spawn(async move {
            for cycle in 0.. {
                enqueue_cycle(&pool, &receiver, cycle).await;
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        })
    };
    let alert = eventually(
        "HeraldJobFailureRateHigh to fire",
        Duration::from_secs(40),
        || async {
            let alerts = get_json(&format!("http://{web}/api/v1/alerts")).await?;
            alerts["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| {
                    a["labels"]["alertname"] == "HeraldJobFailureRateHigh" && a["state"] == "firing"
                })
                .cloned()
        },
    )
    .await;
    assert_eq!(alert["labels"]["severity"], "critical");
    let value: f64 = alert["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("alert value in {alert}"));
    assert!(value > 0.05, "{value}");

    feeder.abort();
    let _ = feeder.await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(worker.0.id()).unwrap_or(0)),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let status = tokio::task::spawn_blocking(move || {
        let status = worker.0.wait();
        drop(worker);
        status
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "the worker stopped cleanly");
    drop(prometheus);
    let _ = std::fs::remove_dir_all(&dir);
    db.finish().await;
}
