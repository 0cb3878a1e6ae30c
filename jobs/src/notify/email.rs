//! `notify.email`: send one message over SMTP, rendered from a named template.
//!
//! The payload names a recipient, a template (see [`templates`](super::templates)) and
//! the template's variables. Each attempt renders the template, waits for the relay's
//! rate limit ([`RateLimiter`]), and sends through [lettre](https://docs.rs/lettre)
//! (plain SMTP, STARTTLS or implicit TLS; AUTH when credentials are set), over a pooled
//! connection when one is parked ([`SmtpPoolSettings`]).
//!
//! The `Message-ID` is `<herald-job-{job id}@{message id domain}>` on every attempt and
//! replay, so a relay or mailbox that deduplicates by `Message-ID` keeps one copy.
//!
//! Classification ([`classify_reply`], [`classify_send_error`]):
//!
//! | the relay or the network says | code | class |
//! |---|---|---|
//! | 2xx | (success) | |
//! | connection refused or reset, TLS or protocol failure | `UPSTREAM_UNAVAILABLE` | retryable |
//! | no answer within the send timeout | `TIMEOUT` | retryable |
//! | 421, 450, 451, 452 and any other 4xx | `UPSTREAM_UNAVAILABLE` | retryable |
//! | 550 with enhanced status 5.1.1 (no such mailbox) | `NOT_FOUND` | terminal |
//! | 530, 534, 535, 538 (authentication) | `PERMISSION_DENIED` | terminal |
//! | 550, 551, 552, 553, 554 and any other 5xx | `VALIDATION_ERROR` | terminal |
//! | a malformed address, an unknown template, a missing variable | `VALIDATION_ERROR` | terminal |
//! | a client-side SMTP error (e.g. no AUTH mechanism in common with the relay) | `INTERNAL_ERROR` | retryable |
//!
//! Messages name the relay host and quote its reply; they never hold the recipient's
//! address or the SMTP password (the worker also masks e-mail local parts in anything
//! it logs or audits).
//!
//! Cancellation: an operator's cancel of the running job ([`AttemptInfo::cancel`]) drops the
//! in-flight send at once (its SMTP connection is closed; a relay discards a message whose
//! DATA did not end) and the attempt is recorded `cancelled`.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{CertificateStore, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::rate_limit::RateLimiter;
use super::templates::{Rendered, Templates};
use crate::error::JobError;
use crate::job::{AttemptInfo, Job};

/// An e-mail notification: render `template` with `vars` and send it to `to`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailJob {
    /// The recipient's address.
    pub to: String,
    /// The template's name (letters, digits, `_`, `-`).
    pub template: String,
    /// The template's variables: a JSON object (default: empty).
    #[serde(default = "empty_object")]
    pub vars: serde_json::Value,
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain SMTP (for a relay on localhost only).
    None,
    /// STARTTLS, required (the default; port 587).
    #[default]
    StartTls,
    /// TLS from the first byte ("implicit TLS", port 465).
    Implicit,
}

/// Everything [`EmailContext::new`] needs.
pub struct EmailSettings {
    /// The relay's host name.
    pub host: String,
    /// The relay's port.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// `(username, password)` for SMTP AUTH, if the relay wants it.
    pub credentials: Option<(String, String)>,
    /// How long one send (connect to the final reply) may take.
    pub timeout: Duration,
    /// The `From` mailbox, e.g. `Herald <herald@example.com>`.
    pub from: String,
    /// The domain part of every `Message-ID`.
    pub message_id_domain: String,
    /// The checked templates.
    pub templates: Templates,
    /// Messages per second through this relay; `None` for no limit.
    pub rate_limit: Option<RateLimiter>,
    /// How connections to the relay are kept for the next message.
    pub pool: SmtpPoolSettings,
}

/// How SMTP connections are reused (lettre's connection pool).
///
/// After a message, its connection is parked (up to `max_idle` of them) instead of
/// closed with `QUIT`; the next send takes a parked one, checks it with `NOOP`, and
/// sends `MAIL FROM` on it. A connection the relay has closed meanwhile fails the `NOOP`
/// and is dropped before the message is sent, so the message goes on a new connection
/// (nothing is half-sent on a dead one). Parked connections unused for `idle_timeout`
/// are closed by the pool.
///
/// | field | default | lettre's own default |
/// |---|---|---|
/// | `max_idle` | 100 (Herald's default queue concurrency) | 10 |
/// | `idle_timeout` | 60 s | 60 s |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmtpPoolSettings {
    /// At most this many idle connections are kept; 0 closes each connection after its
    /// message (one connection per message).
    pub max_idle: u32,
    /// A parked connection unused this long is closed.
    pub idle_timeout: Duration,
}

impl Default for SmtpPoolSettings {
    fn default() -> Self {
        Self {
            max_idle: 100,
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// Why an e-mail context cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmailSetupError {
    /// The `From` mailbox does not parse.
    #[error("the sender is not a valid mailbox: {0}")]
    From(String),
    /// The Message-ID domain is empty or holds spaces or angle brackets.
    #[error("the Message-ID domain must be a plain domain name")]
    MessageIdDomain,
    /// TLS cannot be set up.
    #[error("cannot set up TLS for the relay: {0}")]
    Tls(String),
}

/// What every e-mail attempt needs: the SMTP transport, sender, templates and limit.
#[derive(Clone)]
pub struct EmailContext {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    host: Arc<str>,
    timeout: Duration,
    from: Mailbox,
    message_id_domain: Arc<str>,
    templates: Arc<Templates>,
    limiter: Option<Arc<RateLimiter>>,
}

impl std::fmt::Debug for EmailContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailContext")
            .field("host", &self.host)
            .field("message_id_domain", &self.message_id_domain)
            .field("templates", &self.templates.names().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl EmailContext {
    /// Builds the context; fails on a bad sender, Message-ID domain or TLS set-up. Must
    /// run inside a Tokio runtime: the connection pool starts its idle-cleanup task.
    pub fn new(settings: EmailSettings) -> Result<Self, EmailSetupError> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e: lettre::address::AddressError| EmailSetupError::From(e.to_string()))?;
        let domain = settings.message_id_domain;
        if domain.is_empty() || domain.contains(|c: char| c.is_whitespace() || "<>@".contains(c)) {
            return Err(EmailSetupError::MessageIdDomain);
        }
        let tls = |host: &str| {
            TlsParameters::builder(host.to_owned())
                .certificate_store(CertificateStore::WebpkiRoots)
                .build()
                .map_err(|e| EmailSetupError::Tls(e.to_string()))
        };
        let tls = match settings.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls(&settings.host)?),
            SmtpTls::Implicit => Tls::Wrapper(tls(&settings.host)?),
        };
        let pool = PoolConfig::new()
            .max_size(settings.pool.max_idle)
            .idle_timeout(settings.pool.idle_timeout);
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout))
            .pool_config(pool);
        if let Some((user, password)) = settings.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            host: settings.host.into(),
            timeout: settings.timeout,
            from,
            message_id_domain: domain.into(),
            templates: Arc::new(settings.templates),
            limiter: settings.rate_limit.map(Arc::new),
        })
    }

    /// The template names this context can render.
    pub fn template_names(&self) -> Vec<String> {
        self.templates.names().map(str::to_owned).collect()
    }

    /// The `Message-ID` every attempt of job `job_id` sends.
    pub fn message_id(&self, job_id: i64) -> String {
        message_id(job_id, &self.message_id_domain)
    }
}

/// `<herald-job-{job_id}@{domain}>`: the same for every attempt and replay of a job.
pub fn message_id(job_id: i64, domain: &str) -> String {
    format!("<herald-job-{job_id}@{domain}>")
}

impl Job for EmailJob {
    const KIND: &'static str = "notify.email";
    const MAX_ATTEMPTS: u32 = 5;
    const TIMEOUT: Duration = Duration::from_secs(120);
    type Context = EmailContext;

    fn validate(&self) -> Result<(), JobError> {
        parse_recipient(&self.to)?;
        let name_ok = !self.template.is_empty()
            && self
                .template
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !name_ok {
            return Err(JobError::validation(
                "template",
                "must be letters, digits, `_` or `-`",
            ));
        }
        if !self.vars.is_object() {
            return Err(JobError::validation("vars", "must be a JSON object"));
        }
        Ok(())
    }

    async fn perform(self, ctx: EmailContext, attempt: AttemptInfo) -> Result<(), JobError> {
        self.validate()?;
        let to = parse_recipient(&self.to)?;
        let rendered = ctx.templates.render(&self.template, &self.vars)?;
        let message = build_message(&ctx, to, rendered, attempt.job_id)?;
        if let Some(limiter) = &ctx.limiter {
            limiter.acquire().await;
        }
        // lettre's own timeout does not cover every read (a relay that accepts the
        // connection and never greets would hang), so the whole send is bounded here.
        // An operator's cancel drops the in-flight send (its SMTP connection is closed).
        let send = tokio::time::timeout(ctx.timeout, ctx.transport.send(message));
        let relay = format!("the delivery to SMTP relay {}", ctx.host);
        match attempt.cancel.guard(&relay, send).await? {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(classify_send_error(&ctx.host, &e)),
            Err(_) => Err(JobError::timeout(format!(
                "SMTP relay {} did not finish within {} ms",
                ctx.host,
                ctx.timeout.as_millis()
            ))),
        }
    }
}

fn parse_recipient(to: &str) -> Result<Mailbox, JobError> {
    to.parse::<Address>()
        .map(|address| Mailbox::new(None, address))
        .map_err(|_| JobError::validation("to", "not a valid e-mail address"))
}

fn build_message(
    ctx: &EmailContext,
    to: Mailbox,
    rendered: Rendered,
    job_id: i64,
) -> Result<Message, JobError> {
    let builder = Message::builder()
        .from(ctx.from.clone())
        .to(to)
        .subject(rendered.subject)
        .message_id(Some(ctx.message_id(job_id)));
    let built = match rendered.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(rendered.text, html)),
        None => builder.singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .body(rendered.text),
        ),
    };
    built.map_err(|e| JobError::validation("message", e.to_string()))
}

/// Maps an SMTP reply (`code` and its text, which may start with an enhanced status
/// code such as `5.1.1`) to the attempt's result (see the module table). Pure.
pub fn classify_reply(host: &str, code: u16, text: &str) -> Result<(), JobError> {
    let message = || {
        let text = text.trim();
        if text.is_empty() {
            format!("SMTP relay {host} answered {code}")
        } else {
            format!("SMTP relay {host} answered {code} {text}")
        }
    };
    let enhanced = text.split_whitespace().next().unwrap_or("");
    match code {
        200..=399 => Ok(()),
        400..=499 => Err(JobError::upstream(message(), None)),
        530 | 534 | 535 | 538 => Err(JobError::permission_denied(message())),
        550 if enhanced == "5.1.1" => Err(JobError::not_found(message())),
        500..=599 => Err(JobError::validation("message", message())),
        _ => Err(JobError::upstream(message(), None)),
    }
}

/// Maps a lettre error: replies by [`classify_reply`], timeouts to `TIMEOUT`, anything
/// else on the wire (refused, reset, TLS, garbled replies) to `UPSTREAM_UNAVAILABLE`,
/// named by its stable sub-cause ([`super::cause::sub_cause`]) when one is recognised.
pub fn classify_send_error(host: &str, error: &lettre::transport::smtp::Error) -> JobError {
    if let Some(code) = error.status() {
        let text = std::error::Error::source(error)
            .map(ToString::to_string)
            .unwrap_or_default();
        return match classify_reply(host, u16::from(code), &text) {
            Err(e) => e,
            Ok(()) => JobError::upstream(format!("SMTP relay {host} failed"), None),
        };
    }
    if error.is_timeout() {
        return JobError::timeout(format!("SMTP relay {host} timed out"));
    }
    let detail = error.to_string();
    if error.is_client() {
        return JobError::internal(format!("SMTP client error with {host}: {detail}"), None);
    }
    // The stable sub-cause names the failure (and its fingerprint); the detail stays in
    // the chain.
    match super::cause::sub_cause(error) {
        Some(sub) => JobError::upstream(
            format!("SMTP relay {host} unreachable: {sub}"),
            Some(Box::new(std::io::Error::other(detail)) as _),
        ),
        None => JobError::upstream(format!("SMTP relay {host} unreachable: {detail}"), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn reply_codes_map_to_codes() {
        use ErrorCode::*;
        let table: [(u16, &str, Option<ErrorCode>); 21] = [
            (250, "2.0.0 OK", None),
            (251, "user not local; will forward", None),
            (354, "go ahead", None),
            (
                421,
                "4.3.2 service not available",
                Some(UpstreamUnavailable),
            ),
            (450, "4.2.1 mailbox busy", Some(UpstreamUnavailable)),
            (451, "4.3.0 try again later", Some(UpstreamUnavailable)),
            (452, "4.2.2 mailbox full", Some(UpstreamUnavailable)),
            (454, "4.7.0 TLS not available", Some(UpstreamUnavailable)),
            (530, "5.7.0 authentication required", Some(PermissionDenied)),
            (534, "5.7.9 mechanism too weak", Some(PermissionDenied)),
            (535, "5.7.8 bad credentials", Some(PermissionDenied)),
            (538, "5.7.11 encryption required", Some(PermissionDenied)),
            (550, "5.1.1 no such user", Some(NotFound)),
            (550, "5.7.1 relaying denied", Some(Validation)),
            (550, "mailbox unavailable", Some(Validation)),
            (551, "5.1.6 user not local", Some(Validation)),
            (552, "5.3.4 message too big", Some(Validation)),
            (553, "5.1.3 bad address syntax", Some(Validation)),
            (554, "5.7.1 rejected as spam", Some(Validation)),
            (500, "5.5.2 syntax error", Some(Validation)),
            (503, "5.5.1 bad sequence", Some(Validation)),
        ];
        for (code, text, expected) in table {
            let got = classify_reply("relay.test", code, text)
                .err()
                .map(|e| e.code());
            assert_eq!(got, expected, "{code} {text}");
        }
    }

    #[test]
    fn four_hundreds_are_retryable_and_five_hundreds_terminal() {
        use crate::error::FailureClass::*;
        for code in [421, 450, 451, 452] {
            let class = classify_reply("h", code, "").err().map(|e| e.class());
            assert_eq!(class, Some(Retryable), "{code}");
        }
        for code in [535, 550, 551, 552, 553, 554] {
            let class = classify_reply("h", code, "").err().map(|e| e.class());
            assert_eq!(class, Some(Terminal), "{code}");
        }
    }

    #[test]
    fn messages_name_the_relay_and_quote_the_reply() {
        let text = classify_reply("mx.example.test", 451, "4.3.0 try later\n")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            text.as_deref(),
            Some("upstream unavailable: SMTP relay mx.example.test answered 451 4.3.0 try later")
        );
    }

    #[test]
    fn malformed_addresses_and_template_names_are_rejected_before_enqueue() {
        let job = |to: &str, template: &str, vars| EmailJob {
            to: to.into(),
            template: template.into(),
            vars,
        };
        let obj = serde_json::json!({});
        let cases = [
            job("not an address", "welcome", obj.clone()),
            job("a@", "welcome", obj.clone()),
            job("a@example.com", "../etc/passwd", obj.clone()),
            job("a@example.com", "", obj.clone()),
            job("a@example.com", "welcome", serde_json::json!([1])),
        ];
        for case in cases {
            let code = case.validate().err().map(|e| e.code());
            assert_eq!(code, Some(ErrorCode::Validation), "{case:?}");
        }
        assert!(job("a@example.com", "welcome", obj).validate().is_ok());
    }

    #[test]
    fn validation_messages_do_not_repeat_the_address() {
        let job = EmailJob {
            to: "alice.secret@@example.com".into(),
            template: "welcome".into(),
            vars: serde_json::json!({}),
        };
        let text = job.validate().err().map(|e| e.chain()).unwrap_or_default();
        assert!(!text.contains("alice.secret"), "{text}");
    }

    #[test]
    fn message_ids_derive_from_the_job_id() {
        assert_eq!(
            message_id(42, "mail.example.com"),
            "<herald-job-42@mail.example.com>"
        );
    }
}
