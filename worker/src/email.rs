//! The `notify.email` channel at start-up: load and check the templates, build the SMTP
//! transport and the rate limiter from [`EmailConfig`]. Any problem stops the worker
//! before a job runs.

use herald_jobs::notify::{EmailContext, EmailSettings, RateLimiter, Templates};
use tracing::info;

use crate::config::email::EmailConfig;
use crate::error::RunError;

/// Builds the context `notify.email` runs with; fails on a missing or invalid template
/// folder, a bad sender or a TLS set-up error.
pub(crate) fn context(cfg: &EmailConfig) -> Result<EmailContext, RunError> {
    let setup = |message: String| RunError::Setup {
        kind: "notify.email",
        message: crate::sanitize::sanitize(&message),
    };
    let templates = Templates::load(&cfg.templates).map_err(|e| setup(e.to_string()))?;
    let credentials = cfg.username.clone().zip(cfg.password.clone());
    let context = EmailContext::new(EmailSettings {
        host: cfg.host.clone(),
        port: cfg.port,
        tls: cfg.tls,
        credentials,
        timeout: cfg.timeout,
        from: cfg.from.clone(),
        message_id_domain: cfg.message_id_domain.clone(),
        templates,
        rate_limit: cfg.rate_limit.and_then(RateLimiter::per_second),
        pool: cfg.pool,
    })
    .map_err(|e| setup(e.to_string()))?;
    info!(
        smtp.host = %cfg.host,
        smtp.port = cfg.port,
        smtp.tls = ?cfg.tls,
        smtp.auth = cfg.username.is_some(),
        email.templates = ?context.template_names(),
        email.rate_limit = cfg.rate_limit,
        smtp.pool_max_idle = cfg.pool.max_idle,
        smtp.pool_idle_timeout_ms = cfg.pool.idle_timeout.as_millis() as u64,
        "notify.email ready"
    );
    Ok(context)
}
