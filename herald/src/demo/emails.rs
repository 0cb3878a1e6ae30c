//! The demo's e-mails: `notify.email` jobs sent to the local SMTP sink
//! ([`SmtpSink`]), in a fixed mix per 10 jobs: 7 accepted at once, 2 answered 451 on
//! their first try (retried, then delivered), 1 answered 550 5.1.1 (dead at once).

use std::io::Write;

use herald_jobs::enqueue::{NewJob, enqueue_in};
use herald_jobs::notify::EmailJob;
use sqlx::PgPool;

use super::DemoError;
use herald_testkit::smtp_sink::SmtpSink;

/// The shipped template folder the demo renders from.
pub const TEMPLATES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../templates/email");
/// The demo's Message-ID domain.
pub const MESSAGE_ID_DOMAIN: &str = "demo.herald.test";
/// The demo's e-mail rate limit, messages per second.
pub const RATE_LIMIT: &str = "10";
/// Recipient tags per 10 jobs (see the sink's scripted replies).
const MIX: [&str; 10] = ["", "", "", "+451", "", "", "+451", "", "", "+550"];

/// The worker variables that point `notify.email` at `sink`.
pub fn worker_env(name: &str, sink_port: u16) -> Option<String> {
    Some(match name {
        "HERALD_SMTP_HOST" => "127.0.0.1".to_owned(),
        "HERALD_SMTP_PORT" => sink_port.to_string(),
        "HERALD_SMTP_TLS" => "none".to_owned(),
        "HERALD_EMAIL_FROM" => "Herald demo <herald@demo.herald.test>".to_owned(),
        "HERALD_EMAIL_MESSAGE_ID_DOMAIN" => MESSAGE_ID_DOMAIN.to_owned(),
        "HERALD_EMAIL_TEMPLATES" => TEMPLATES.to_owned(),
        "HERALD_EMAIL_RATE_LIMIT" => RATE_LIMIT.to_owned(),
        _ => return None,
    })
}

/// Enqueues `count` e-mail jobs in one transaction; returns their ids in mix order.
pub async fn enqueue(
    pool: &PgPool,
    count: usize,
    out: &mut impl Write,
) -> Result<Vec<i64>, DemoError> {
    let mut tx = pool.begin().await?;
    let mut ids = Vec::with_capacity(count);
    for n in 0..count {
        let job = EmailJob {
            to: format!("customer{n}{}@shop.example", MIX[n % MIX.len()]),
            template: "order_shipped".to_owned(),
            vars: serde_json::json!({ "name": format!("Customer {n}"), "order": 1000 + n }),
        };
        let new = NewJob::new(&job).map_err(|e| DemoError::Other(e.to_string()))?;
        let id = enqueue_in(&mut tx, new)
            .await
            .map_err(|e| DemoError::Other(e.to_string()))?
            .id;
        ids.push(id);
    }
    tx.commit().await?;
    writeln!(
        out,
        "  enqueued {count} notify.email jobs in one transaction (per 10: 7 accepted, 2 answered 451 once, 1 answered 550 5.1.1), at most {RATE_LIMIT}/s to the relay"
    )?;
    Ok(ids)
}

/// Writes every channel's jobs by state beside what its receiver saw.
pub async fn print_channels(
    pool: &PgPool,
    ids: &[i64],
    webhook_requests: u64,
    sink: &SmtpSink,
    out: &mut impl Write,
) -> Result<(), DemoError> {
    let rows: Vec<(String, String, i64)> = sqlx::query_file!("queries/demo/jobs_by_type.sql", ids)
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.job_type, r.state, r.count))
        .collect();
    writeln!(out, "\nChannels")?;
    for kind in ["notify.webhook", "notify.email"] {
        let states: Vec<String> = rows
            .iter()
            .filter(|(k, _, _)| k == kind)
            .map(|(_, state, n)| format!("{n} {state}"))
            .collect();
        writeln!(out, "  {kind:<15} jobs: {}", states.join(", "))?;
    }
    writeln!(
        out,
        "  {:<15} requests received by the receiver: {webhook_requests}",
        "webhooks"
    )?;
    let mail = sink.received();
    let with_job_ids = mail
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .filter(|id| {
            id.starts_with("<herald-job-") && id.ends_with(&format!("@{MESSAGE_ID_DOMAIN}>"))
        })
        .count();
    writeln!(
        out,
        "  {:<15} messages received by the SMTP sink: {} ({with_job_ids} with a job-derived Message-ID <herald-job-ID@{MESSAGE_ID_DOMAIN}>)",
        "e-mails",
        mail.len()
    )?;
    Ok(())
}
