//! `GET /api/v1/stream` (any role): a server-sent event stream of attempt outcomes and
//! alert transitions, for the overview page.
//!
//! | event | data |
//! |---|---|
//! | `ready` | `{}`: sent first; every attempt finished from now on will be sent |
//! | `attempt` | `{"job_id", "type", "queue", "outcome", "at"}`: an attempt finished (any worker of the fleet) |
//! | `alert` | `{"alert", "scope", "state", "failure_rate", "at"}`: the failure-rate alert `tripped` or `resolved` |
//! | `dropped` | `{"count"}`: this client fell behind and missed that many events (re-read the overview) |
//! | `error` | `{"code": "INTERNAL_ERROR", "message"}`: the console could not read new events (the detail is in its log); the stream stays open and recovers |
//! | `end` | `{"reason"}`: the session ended (logout or expiry) or the console is stopping; the stream closes |
//!
//! A comment line every 15 s keeps idle connections open. The stream is not under the
//! request timeout. Its source is one poller per console process ([`hub::Hub`]); a
//! slow client never slows anyone (bounded channel, dropped events counted in
//! [`stats::StreamStats`]). A client going away is routine: logged at DEBUG, and the
//! stream's cleanup (its counters, its subscription) runs however it ends.
//!
//! # Layout
//! - `hub.rs`: the poller and the broadcast channel
//! - `stats.rs`: the counters
//! - this file: one client's stream

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Extension;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use tokio::sync::{broadcast, watch};

use super::errors::ApiError;
use super::sessions::{Meta, Session, token_hash};

pub mod hub;
pub mod stats;

pub use hub::Hub;

/// How often an open stream re-checks that its session is still alive.
pub const SESSION_RECHECK: Duration = Duration::from_secs(30);

/// The `error` event's data: generic, whatever failed.
const ERROR_DATA: &str = r#"{"code":"INTERNAL_ERROR","message":"the live stream could not read new events; it keeps trying (details in the console log)"}"#;

/// One client's stream: what it reads, and the cleanup that runs when it is dropped.
struct ClientStream {
    hub: Arc<Hub>,
    events: broadcast::Receiver<Item>,
    closing: watch::Receiver<bool>,
    token: Option<Vec<u8>>,
    user: String,
    sent: u64,
    ready: bool,
    ended: bool,
}

use hub::Item;

/// What woke a waiting stream.
enum Woke {
    Received(Result<Item, broadcast::error::RecvError>),
    Closing,
    Recheck,
}

impl Drop for ClientStream {
    fn drop(&mut self) {
        self.hub.stats().stream_closed();
        tracing::debug!(console.user = %self.user, stream.events_sent = self.sent, "console stream closed");
    }
}

impl ClientStream {
    /// The next event to send, or `None` when the stream ends.
    async fn next(&mut self) -> Option<Event> {
        if self.ended {
            return None;
        }
        if !self.ready {
            self.ready = true;
            return Some(Event::default().event("ready").data("{}"));
        }
        loop {
            let woke = {
                let closing = &mut self.closing;
                tokio::select! {
                    received = self.events.recv() => Woke::Received(received),
                    _ = async { let _ = closing.wait_for(|closing| *closing).await; } => Woke::Closing,
                    () = tokio::time::sleep(SESSION_RECHECK) => Woke::Recheck,
                }
            };
            match woke {
                Woke::Received(Ok(Item::Event(name, data))) => {
                    self.sent += 1;
                    return Some(Event::default().event(name).data(&*data));
                }
                Woke::Received(Ok(Item::Failed)) => {
                    self.hub.stats().stream_error();
                    return Some(Event::default().event("error").data(ERROR_DATA));
                }
                Woke::Received(Err(broadcast::error::RecvError::Lagged(n))) => {
                    self.hub.stats().stream_events_dropped(n);
                    tracing::debug!(console.user = %self.user, stream.dropped = n, "console stream client fell behind");
                    return Some(
                        Event::default()
                            .event("dropped")
                            .data(format!(r#"{{"count":{n}}}"#)),
                    );
                }
                Woke::Received(Err(broadcast::error::RecvError::Closed)) | Woke::Closing => {
                    return self.end("the console is stopping");
                }
                Woke::Recheck => {
                    if let Some(event) = self.recheck_session().await {
                        return Some(event);
                    }
                }
            }
        }
    }

    /// `None` while the session lives; the `end` event when it is gone, an `error`
    /// event when the check itself failed.
    async fn recheck_session(&mut self) -> Option<Event> {
        let token = self.token.as_deref().unwrap_or_default();
        match sqlx::query_file!("queries/console/session.sql", token)
            .fetch_optional(self.hub.pool())
            .await
        {
            Ok(Some(_)) => None,
            Ok(None) => self.end("the session ended"),
            Err(e) => {
                tracing::warn!(
                    console.user = %self.user,
                    error.detail = %herald_worker::sanitize::sanitize(&e.to_string()),
                    "console stream cannot re-check its session"
                );
                self.hub.stats().stream_error();
                Some(Event::default().event("error").data(ERROR_DATA))
            }
        }
    }

    /// The `end` event; the stream closes after it.
    fn end(&mut self, reason: &str) -> Option<Event> {
        self.ended = true;
        let data = serde_json::json!({ "reason": reason }).to_string();
        Some(Event::default().event("end").data(data))
    }
}

/// Opens a stream for the logged-in user (`INTERNAL_ERROR` if the stream's start
/// cannot be read).
pub(crate) async fn open(
    Extension(hub): Extension<Arc<Hub>>,
    session: Session,
    meta: Meta,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let events = hub
        .subscribe()
        .await
        .map_err(|e| ApiError::Internal(format!("live stream start: {e}")))?;
    hub.stats().stream_opened();
    tracing::debug!(console.user = %session.username, console.source = %session.source, "console stream opened");
    let client = ClientStream {
        events,
        closing: hub.closing(),
        hub,
        token: meta.token.as_deref().map(token_hash),
        user: session.username,
        sent: 0,
        ready: false,
        ended: false,
    };
    let stream = futures::stream::unfold(client, |mut client| async move {
        client.next().await.map(|event| (Ok(event), client))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(hub: Arc<Hub>, events: broadcast::Receiver<Item>) -> ClientStream {
        ClientStream {
            closing: hub.closing(),
            hub,
            events,
            token: None,
            user: "u".to_owned(),
            sent: 0,
            ready: true,
            ended: false,
        }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_told_and_its_missed_events_are_counted() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap_or_else(|e| panic!("{e}"));
        let hub = Arc::new(Hub::new(pool));
        let (sender, events) = hub.test_channel();
        let mut slow = client(hub.clone(), events);
        let extra = 10;
        for n in 0..hub::CHANNEL_CAPACITY + extra {
            let _ = sender.send(Item::Event("attempt", format!("{n}").into()));
        }
        assert!(slow.next().await.is_some());
        assert_eq!(hub.stats().counts().dropped, extra as u64);
        // Then it carries on with the oldest event still buffered.
        assert!(slow.next().await.is_some());
        assert_eq!(slow.sent, 1);
        let _ = sender.send(Item::Failed);
        drop(slow);
        let counts = hub.stats().counts();
        assert_eq!((counts.closed, counts.errors), (1, 0));
        hub.close();
        let (_, events) = hub.test_channel();
        let mut late = client(hub.clone(), events);
        assert!(late.next().await.is_some(), "the end event");
        assert!(late.next().await.is_none(), "then nothing");
    }
}
