//! The `/metrics` endpoint (`herald worker --metrics-addr`). Each scrape first refreshes
//! the gauges read from the database (jobs by queue and state, paused queues, worker
//! heartbeat ages)
//! and the pool's connection counts, timing how long it waits for a connection (the
//! pool's wait); if the database does not answer, those gauges keep their last values
//! and the rest is served anyway.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use sqlx::PgPool;
use tokio::sync::watch;
use tracing::{debug, info};

use super::metrics::Metrics;

#[derive(Clone)]
struct Scrape {
    metrics: Arc<Metrics>,
    pool: PgPool,
    pool_max: u32,
}

/// Binds `addr` and serves `/metrics` until `stop` turns true. Fails at once when the
/// address cannot be bound.
pub(crate) async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    pool: PgPool,
    pool_max: u32,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    info!(metrics.addr = %bound, "serving Prometheus metrics on /metrics");
    let app = Router::new()
        .route("/metrics", get(scrape))
        .with_state(Scrape {
            metrics,
            pool,
            pool_max,
        });
    Ok(tokio::spawn(async move {
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            debug!(error.message = %e, "metrics endpoint stopped");
        }
    }))
}

async fn scrape(State(s): State<Scrape>) -> impl IntoResponse {
    refresh(&s).await;
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.metrics.encode(),
    )
}

async fn refresh(s: &Scrape) {
    let size = i64::from(s.pool.size());
    let idle = i64::try_from(s.pool.num_idle()).unwrap_or(0);
    s.metrics
        .pool
        .with_label_values(&["in_use"])
        .set(size - idle);
    s.metrics.pool.with_label_values(&["idle"]).set(idle);
    s.metrics
        .pool
        .with_label_values(&["max"])
        .set(i64::from(s.pool_max));
    let waited = std::time::Instant::now();
    let Ok(mut conn) = s.pool.acquire().await else {
        s.metrics.pool_wait.set(waited.elapsed().as_secs_f64());
        return;
    };
    s.metrics.pool_wait.set(waited.elapsed().as_secs_f64());
    if let Ok(rows) = sqlx::query_file!("queries/telemetry/queue_depth.sql")
        .fetch_all(&mut *conn)
        .await
    {
        s.metrics.queue_jobs.reset();
        for row in rows {
            let (queue, state, jobs) = (row.queue, row.state, row.jobs);
            s.metrics
                .queue_jobs
                .with_label_values(&[queue.as_str(), state.as_str()])
                .set(jobs);
        }
    }
    if let Ok(rows) = sqlx::query_file!("queries/telemetry/paused_queues.sql")
        .fetch_all(&mut *conn)
        .await
    {
        s.metrics.queue_paused.reset();
        for row in rows {
            s.metrics
                .queue_paused
                .with_label_values(&[row.queue.as_str()])
                .set(row.seconds);
        }
    }
    if let Ok(rows) = sqlx::query_file!("queries/telemetry/flow_held.sql")
        .fetch_all(&mut *conn)
        .await
    {
        s.metrics.flow_held.reset();
        for row in rows {
            s.metrics
                .flow_held
                .with_label_values(&[row.key.as_str(), row.reason.as_str()])
                .set(row.jobs);
        }
    }
    if let Ok(p) = sqlx::query_file!("queries/telemetry/batch_progress.sql")
        .fetch_one(&mut *conn)
        .await
    {
        s.metrics.workflow_open.set(p.open);
        let members = &s.metrics.workflow_members;
        members.with_label_values(&["succeeded"]).set(p.succeeded);
        members.with_label_values(&["dead"]).set(p.dead);
        members.with_label_values(&["cancelled"]).set(p.cancelled);
        let unsettled = p
            .members
            .saturating_sub(p.succeeded)
            .saturating_sub(p.dead)
            .saturating_sub(p.cancelled);
        members.with_label_values(&["unsettled"]).set(unsettled);
    }
    if let Ok(rows) = sqlx::query_file!("queries/telemetry/heartbeat_ages.sql")
        .fetch_all(&mut *conn)
        .await
    {
        s.metrics.heartbeat_age.reset();
        for row in rows {
            let (worker, age) = (row.id, row.age);
            s.metrics
                .heartbeat_age
                .with_label_values(&[worker.as_str()])
                .set(age);
        }
    }
}
