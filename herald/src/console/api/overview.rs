//! `GET /api/v1/overview?window=5m`: what the overview page shows, in one answer, from
//! the audit table and the live tables (every worker of the fleet counts):
//!
//! | field | what |
//! |---|---|
//! | `window_secs`, `threshold` | the window (default 5 min, 1 s to 1 day) and the alert's line (5 %) |
//! | `attempts`, `failures`, `failure_rate`, `throughput_per_sec` | attempts finished in the window (interrupted ones not counted), as `herald stats` counts them |
//! | `by_outcome` | attempts by outcome (`succeeded`, `retrying`, `dead`, `abandoned`, `interrupted`) |
//! | `queues` | depth by state per queue (as `GET /api/v1/queues`) |
//! | `workers` | live workers with their heartbeat age in seconds (`null` when not a finite time) |
//! | `alert` | per scope the latest transition (`tripped` = firing), and the window's transitions |

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};

use super::failures::bad_query;
use crate::console::ConsoleState;
use crate::console::errors::ApiError;
use crate::console::sessions::Session;
use herald_worker::config::parse_duration_within;
use herald_worker::stored_time::StoredTime;

/// The alert's line: a failure rate above it trips the alert (the worker's default).
const THRESHOLD: f64 = 0.05;

/// The query string.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OverviewQuery {
    window: Option<String>,
}

#[derive(Debug, Serialize)]
struct Worker {
    id: String,
    hostname: String,
    queues: Vec<String>,
    heartbeat_age_secs: Option<f64>,
    in_flight: i64,
}

#[derive(Debug, Serialize)]
struct AlertScope {
    scope: String,
    transition: String,
    occurred_at: StoredTime,
}

#[derive(Debug, Serialize)]
struct Transition {
    occurred_at: StoredTime,
    scope: String,
    transition: String,
    failure_rate: f64,
    worker_id: Option<String>,
}

/// The answer.
#[derive(Debug, Serialize)]
pub(crate) struct Overview {
    window_secs: f64,
    threshold: f64,
    attempts: i64,
    failures: i64,
    failure_rate: f64,
    throughput_per_sec: f64,
    by_outcome: BTreeMap<String, i64>,
    queues: Vec<super::queues::QueueDepth>,
    workers: Vec<Worker>,
    alert: Alert,
}

#[derive(Debug, Serialize)]
struct Alert {
    firing: bool,
    scopes: Vec<AlertScope>,
    recent: Vec<Transition>,
}

/// Answers the overview.
pub(crate) async fn show(
    State(state): State<Arc<ConsoleState>>,
    _session: Session,
    query: Result<Query<OverviewQuery>, QueryRejection>,
) -> Result<Json<Overview>, ApiError> {
    let Query(q) = query.map_err(|e| bad_query(&e))?;
    let window = parse_duration_within(
        q.window.as_deref().unwrap_or("5m"),
        Duration::from_secs(1)..=Duration::from_secs(86_400),
    )
    .map_err(|e| ApiError::Validation(format!("window: {e}")))?;
    let secs = window.as_secs_f64();
    let pool = &state.pool;
    let rates = sqlx::query_file!("queries/stats/failure_rate.sql", secs)
        .fetch_all(pool)
        .await?;
    let (attempts, failures) = rates
        .iter()
        .fold((0, 0), |(a, f), r| (a + r.attempts, f + r.failures));
    let by_outcome = sqlx::query_file!("queries/console/attempts_by_outcome.sql", secs)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.outcome, r.attempts))
        .collect();
    let queues = sqlx::query_file_as!(super::queues::QueueDepth, "queries/operator/queues.sql")
        .fetch_all(pool)
        .await?;
    let workers = sqlx::query_file!("queries/operator/workers.sql", false)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|w| Worker {
            id: w.id,
            hostname: w.hostname,
            queues: w.queues,
            heartbeat_age_secs: Some(w.heartbeat_age_secs).filter(|a| a.is_finite()),
            in_flight: w.in_flight,
        })
        .collect();
    let scopes: Vec<AlertScope> =
        sqlx::query_file_as!(AlertScope, "queries/console/alert_state.sql")
            .fetch_all(pool)
            .await?;
    let recent = sqlx::query_file_as!(
        Transition,
        "queries/stats/recent_alerts.sql",
        secs.max(86_400.0)
    )
    .fetch_all(pool)
    .await?;
    let failure_rate = if attempts == 0 {
        0.0
    } else {
        failures as f64 / attempts as f64
    };
    Ok(Json(Overview {
        window_secs: secs,
        threshold: THRESHOLD,
        attempts,
        failures,
        failure_rate,
        throughput_per_sec: attempts as f64 / secs,
        by_outcome,
        queues,
        workers,
        alert: Alert {
            firing: scopes.iter().any(|s| s.transition == "tripped"),
            scopes,
            recent,
        },
    }))
}
