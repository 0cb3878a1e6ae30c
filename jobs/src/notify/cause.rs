//! Why a connection to an upstream failed, in a few stable words, found by walking an
//! error's `source()` chain. Both `notify.webhook` and `notify.email` put it in their
//! failure message ("POST to 127.0.0.1 failed: connection refused"), so the audit row
//! explains the failure by itself and fingerprints tell the causes apart.
//!
//! | found in the chain | sub-cause |
//! |---|---|
//! | `io::ErrorKind::ConnectionRefused` | `connection refused` |
//! | `io::ErrorKind::ConnectionReset` / `ConnectionAborted` / `BrokenPipe` | `connection reset` |
//! | `io::ErrorKind::TimedOut` | `timed out` |
//! | hyper-util's `dns error`, `failed to lookup address`, `name resolution` | `name did not resolve` |
//! | TLS / certificate / handshake texts (rustls, native TLS, lettre's `tls error`) | `TLS failure` |
//! | `io::ErrorKind::UnexpectedEof`, `connection closed before message completed` | `connection closed early` |
//! | `io::ErrorKind::HostUnreachable` / `NetworkUnreachable`, `unreachable` | `host unreachable` |
//!
//! Nothing matched: `None`; callers keep their generic message (the full chain is still
//! in the audit row's `error_chain`).

use std::error::Error;
use std::io::ErrorKind;

/// The stable sub-cause of `error` (see the module table), or `None` if no link of the
/// chain is recognised. Io kinds are checked before texts, the outermost link first.
pub fn sub_cause(error: &(dyn Error + 'static)) -> Option<&'static str> {
    chain(error)
        .find_map(|e| e.downcast_ref::<std::io::Error>().and_then(io_cause))
        .or_else(|| chain(error).find_map(|e| text_cause(&e.to_string())))
}

fn chain<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    let mut next = Some(error);
    std::iter::from_fn(move || {
        let current = next?;
        next = current.source();
        Some(current)
    })
}

fn io_cause(error: &std::io::Error) -> Option<&'static str> {
    match error.kind() {
        ErrorKind::ConnectionRefused => Some("connection refused"),
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted | ErrorKind::BrokenPipe => {
            Some("connection reset")
        }
        ErrorKind::TimedOut => Some("timed out"),
        ErrorKind::UnexpectedEof => Some("connection closed early"),
        ErrorKind::HostUnreachable | ErrorKind::NetworkUnreachable => Some("host unreachable"),
        // An io::Error's own `source()` skips the error it wraps: look at it by text.
        _ => error
            .get_ref()
            .and_then(|inner| text_cause(&inner.to_string())),
    }
}

fn text_cause(text: &str) -> Option<&'static str> {
    let text = text.to_ascii_lowercase();
    let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
    if has(&[
        "dns error",
        "failed to lookup address",
        "name resolution",
        "name or service not known",
        "no such host",
    ]) {
        Some("name did not resolve")
    } else if has(&["tls", "ssl", "certificate", "handshake", "corrupt message"]) {
        Some("TLS failure")
    } else if has(&["connection refused"]) {
        Some("connection refused")
    } else if has(&["connection reset", "broken pipe"]) {
        Some("connection reset")
    } else if has(&["connection closed", "unexpected eof", "incomplete message"]) {
        Some("connection closed early")
    } else if has(&["unreachable"]) {
        Some("host unreachable")
    } else if has(&["timed out", "deadline has elapsed"]) {
        Some("timed out")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::io;

    use super::*;

    #[derive(Debug)]
    struct Wrap(&'static str, Box<dyn Error + Send + Sync>);

    impl std::fmt::Display for Wrap {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrap {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.1.as_ref())
        }
    }

    fn wrapped(outer: &'static str, inner: io::Error) -> Wrap {
        Wrap(
            "error sending request",
            Box::new(Wrap(outer, Box::new(inner))),
        )
    }

    #[test]
    fn chains_map_to_stable_sub_causes() {
        let table = [
            (
                wrapped(
                    "tcp connect error",
                    io::Error::from(ErrorKind::ConnectionRefused),
                ),
                Some("connection refused"),
            ),
            (
                wrapped(
                    "connection error",
                    io::Error::from(ErrorKind::ConnectionReset),
                ),
                Some("connection reset"),
            ),
            (
                wrapped("tcp connect error", io::Error::from(ErrorKind::TimedOut)),
                Some("timed out"),
            ),
            (
                wrapped(
                    "dns error",
                    io::Error::other(
                        "failed to lookup address information: Name or service not known",
                    ),
                ),
                Some("name did not resolve"),
            ),
            (
                wrapped(
                    "client error (Connect)",
                    io::Error::new(
                        ErrorKind::InvalidData,
                        "received corrupt message of type InvalidContentType",
                    ),
                ),
                Some("TLS failure"),
            ),
            (
                wrapped("client error", io::Error::from(ErrorKind::UnexpectedEof)),
                Some("connection closed early"),
            ),
            (
                wrapped("client error", io::Error::other("something else")),
                None,
            ),
        ];
        for (error, expected) in table {
            assert_eq!(sub_cause(&error), expected, "{:?}", error.1);
        }
    }
}
