//! Notification jobs shipped with Herald, one file per job, and what they share.
//!
//! | job type | file | what it does |
//! |---|---|---|
//! | `notify.webhook` | `webhook.rs` | POSTs a signed JSON body to a URL |
//! | `notify.email` | `email.rs` | sends one templated message over SMTP |
//!
//! `cause.rs` names why a connection failed; `templates.rs` loads and renders e-mail templates; `rate_limit.rs` paces sends
//! through one channel.

pub mod cause;
pub mod email;
pub mod rate_limit;
pub mod templates;
pub mod webhook;

pub use email::{EmailContext, EmailJob, EmailSettings, SmtpPoolSettings, SmtpTls};
pub use rate_limit::RateLimiter;
pub use templates::Templates;
pub use webhook::{HttpPoolSettings, WebhookContext, WebhookJob};
