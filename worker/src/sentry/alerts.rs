//! CRITICAL events to Sentry through the `sentry` crate's `tracing` integration: a
//! `tracing` layer that passes events on target [`ALERT_TARGET`] (the CRITICAL events,
//! e.g. a long database outage) to the integration's `ErrorLayer`, and ignores every
//! other event and span. Job failures do not go this way: their events are built from
//! the attempt's outcome (see the module above), so an ERROR log line is never a second
//! event.

use sentry::integrations::tracing::ErrorLayer;
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The target of CRITICAL events.
pub(crate) const ALERT_TARGET: &str = "herald::alert";

/// The layer that reports CRITICAL events to Sentry.
pub(crate) struct AlertLayer(ErrorLayer);

impl AlertLayer {
    /// A layer reporting [`ALERT_TARGET`] events.
    pub(crate) fn new() -> Self {
        Self(ErrorLayer::new())
    }
}

impl Default for AlertLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for AlertLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() == ALERT_TARGET {
            Layer::<S>::on_event(&self.0, event, ctx);
        }
    }
}

/// The layer to add to the log subscriber: `Some` only when `SENTRY_DSN` is set, so a
/// worker without Sentry pays nothing per event.
pub(crate) fn alert_layer() -> Option<AlertLayer> {
    crate::config::sentry_dsn_set().then(AlertLayer::new)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use sentry::{ClientOptions, Envelope, Hub, Scope, Transport};
    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    #[derive(Default)]
    struct Collect(Mutex<Vec<Envelope>>);

    impl Transport for Collect {
        fn send_envelope(&self, envelope: Envelope) {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(envelope);
        }
    }

    #[test]
    fn only_critical_alert_events_become_sentry_events() {
        let sent = Arc::new(Collect::default());
        let mut options = ClientOptions::default();
        options.dsn = "http://public@127.0.0.1:9/1".parse().ok();
        options.transport = Some(Arc::new(Arc::clone(&sent)));
        let client = Arc::new(sentry::Client::from(options));
        let hub = Arc::new(Hub::new(
            Some(Arc::clone(&client)),
            Arc::new(Scope::default()),
        ));
        let subscriber = tracing_subscriber::registry().with(AlertLayer::new());
        Hub::run(hub, || {
            tracing::subscriber::with_default(subscriber, || {
                tracing::error!(target: "herald::audit", "job is dead: attempts exhausted (5 of 5), last error TIMEOUT");
                tracing::warn!("attempt failed; retry scheduled");
                tracing::error!(
                    target: "herald::alert",
                    { severity = "CRITICAL", alert = "database_unreachable" },
                    "database unreachable for too long"
                );
            });
        });
        client.flush(None);
        let bodies: Vec<String> = sent
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|e| {
                let mut body = Vec::new();
                let _ = e.to_writer(&mut body);
                String::from_utf8_lossy(&body).into_owned()
            })
            .collect();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        assert!(bodies[0].contains("database unreachable for too long"));
        assert!(bodies[0].contains("database_unreachable"));
    }
}
