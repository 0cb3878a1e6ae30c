//! Notification jobs shipped with Herald, one file per job.
//!
//! | job type | file | what it does |
//! |---|---|---|
//! | `notify.webhook` | `webhook.rs` | POSTs a signed JSON body to a URL |

pub mod webhook;

pub use webhook::{WebhookContext, WebhookJob};
