//! A small SMTP server for the demo and the tests: it speaks enough SMTP for lettre
//! (`EHLO`/`HELO`, `MAIL FROM`, `RCPT TO`, `DATA`, `RSET`, `NOOP`, `QUIT`), keeps every
//! message it accepts, and answers scripted failures chosen by the recipient's address.
//!
//! | recipient | `RCPT TO` is answered |
//! |---|---|
//! | `name@domain` | 250 |
//! | `name+451@domain` (any 4xx code) | that code the first time this address is tried, then 250 |
//! | `name+451x3@domain` | that code the first 3 times, then 250 |
//! | `name+550@domain` | always 550 `5.1.1 <name+550@domain>: mailbox unknown` |
//! | `name+553@domain` (any other 5xx code) | always that code |
//!
//! Started with [`SmtpSink::start_rejecting_auth`] it advertises `AUTH PLAIN LOGIN`,
//! answers every `AUTH` with 535 and every unauthenticated `MAIL` with 530, like a relay
//! that does not know the worker's password.
//!
//! Started with [`SmtpSink::start_closing_idle_after`] it behaves like a relay's idle
//! timeout (Postfix's `smtpd_timeout`): a session that sends no command for that long is
//! answered `421 4.4.2` and closed. [`SmtpSink::connections`] counts the sessions
//! accepted, [`SmtpSink::idle_closes`] those closed that way.
//!
//! It listens on 127.0.0.1 only, on a port the OS picks, and logs nothing (recipients'
//! addresses stay out of the logs).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Largest message accepted, in bytes; bigger ones get 552.
const MAX_MESSAGE_BYTES: usize = 10 * 1024 * 1024;

/// A message the sink accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    /// The envelope sender.
    pub from: String,
    /// The accepted envelope recipients.
    pub to: Vec<String>,
    /// The message as sent (headers and body, dot-stuffing removed, CRLF line ends).
    pub data: String,
    /// When the sink accepted it (the end of `DATA`).
    pub received_at: std::time::SystemTime,
}

impl ReceivedMail {
    /// The first header `name` (case-insensitive), unfolded; `None` if absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self.data.split("\r\n\r\n").next().unwrap_or("");
        let mut found: Option<String> = None;
        for line in head.split("\r\n") {
            if let Some(value) = found.as_mut() {
                if line.starts_with([' ', '\t']) {
                    value.push_str(line);
                    continue;
                }
                break;
            }
            if let Some((key, value)) = line.split_once(':')
                && key.eq_ignore_ascii_case(name)
            {
                found = Some(value.trim().to_owned());
            }
        }
        found
    }
}

#[derive(Default)]
struct State {
    rejects_auth: bool,
    idle_close_after: Option<Duration>,
    received: Vec<ReceivedMail>,
    tries: HashMap<String, u32>,
    connections: u64,
    idle_closes: u64,
}

/// A running sink; it stops when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts the sink on 127.0.0.1 and a free port.
    pub async fn start() -> std::io::Result<Self> {
        Self::spawn(State::default()).await
    }

    /// Starts a sink that demands AUTH and rejects every password (535).
    pub async fn start_rejecting_auth() -> std::io::Result<Self> {
        Self::spawn(State {
            rejects_auth: true,
            ..State::default()
        })
        .await
    }

    /// Starts a sink that closes a session idle for `idle` (no command received), after
    /// answering `421 4.4.2`, as a relay's idle timeout does.
    pub async fn start_closing_idle_after(idle: Duration) -> std::io::Result<Self> {
        Self::spawn(State {
            idle_close_after: Some(idle),
            ..State::default()
        })
        .await
    }

    async fn spawn(initial: State) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(initial));
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                state
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .connections += 1;
                tokio::spawn(async move {
                    // A client that goes away mid-session only ends its own session.
                    let _ = session(stream, state).await;
                });
            }
        });
        Ok(Self { addr, state, task })
    }

    /// The host to connect to (`127.0.0.1`).
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message accepted so far, in arrival order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.lock().received.clone()
    }

    /// How many messages the sink has accepted (without copying them).
    pub fn count(&self) -> usize {
        self.lock().received.len()
    }

    /// How many SMTP sessions (TCP connections) the sink has accepted.
    pub fn connections(&self) -> u64 {
        self.lock().connections
    }

    /// How many sessions the sink closed for being idle (see
    /// [`SmtpSink::start_closing_idle_after`]).
    pub fn idle_closes(&self) -> u64 {
        self.lock().idle_closes
    }

    /// How many times `RCPT TO` named `address`.
    pub fn tries(&self, address: &str) -> u32 {
        self.lock().tries.get(address).copied().unwrap_or(0)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The scripted reply to `RCPT TO:<address>` on its `try_number`-th try (1-based); see
/// the module table.
pub fn scripted_reply(address: &str, try_number: u32) -> (u16, String) {
    let ok = (250, "2.1.5 recipient ok".to_owned());
    let local = address.split('@').next().unwrap_or("");
    let Some((_, tag)) = local.rsplit_once('+') else {
        return ok;
    };
    let (code, times) = tag.split_once('x').unwrap_or((tag, "1"));
    let (Ok(code), Ok(times)) = (code.parse::<u16>(), times.parse::<u32>()) else {
        return ok;
    };
    // Permanent replies quote the address, as real relays do (Postfix: "<a@b>: ...").
    match code {
        400..=499 if try_number <= times => (
            code,
            "4.3.0 scripted transient failure, try again later".to_owned(),
        ),
        550 => (550, format!("5.1.1 <{address}>: mailbox unknown")),
        500..=599 => (
            code,
            format!("5.7.1 <{address}>: scripted permanent failure"),
        ),
        _ => ok,
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 herald-sink ESMTP ready\r\n").await?;
    let (rejects_auth, idle_close_after) = {
        let state = state.lock().unwrap_or_else(PoisonError::into_inner);
        (state.rejects_auth, state.idle_close_after)
    };
    let (mut from, mut to) = (String::new(), Vec::<String>::new());
    let mut line = String::new();
    loop {
        line.clear();
        let read = match idle_close_after {
            None => lines.read_line(&mut line).await?,
            Some(idle) => match tokio::time::timeout(idle, lines.read_line(&mut line)).await {
                Ok(read) => read?,
                Err(_) => {
                    state
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .idle_closes += 1;
                    write
                        .write_all(b"421 4.4.2 herald-sink idle timeout, closing\r\n")
                        .await?;
                    return Ok(());
                }
            },
        };
        if read == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command.get(..4).unwrap_or(command).to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" if rejects_auth => {
                "250-herald-sink\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME".into()
            }
            "EHLO" => "250-herald-sink\r\n250-8BITMIME\r\n250 SMTPUTF8".into(),
            "HELO" => "250 herald-sink".into(),
            "AUTH" => "535 5.7.8 authentication credentials invalid".into(),
            "MAIL" if rejects_auth => "530 5.7.0 authentication required".into(),
            "MAIL" => {
                from = angle_address(command);
                to.clear();
                "250 2.1.0 sender ok".into()
            }
            "RCPT" => {
                let address = angle_address(command);
                let try_number = {
                    let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                    let tries = state.tries.entry(address.clone()).or_insert(0);
                    *tries += 1;
                    *tries
                };
                let (code, text) = scripted_reply(&address, try_number);
                if code == 250 {
                    to.push(address);
                }
                format!("{code} {text}")
            }
            "DATA" if to.is_empty() => "554 5.5.1 no valid recipients".into(),
            "DATA" => {
                write
                    .write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n")
                    .await?;
                let Some(data) = read_data(&mut lines).await? else {
                    write.write_all(b"552 5.3.4 message too big\r\n").await?;
                    continue;
                };
                let mail = ReceivedMail {
                    from: std::mem::take(&mut from),
                    to: std::mem::take(&mut to),
                    data,
                    received_at: std::time::SystemTime::now(),
                };
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                state.received.push(mail);
                format!("250 2.0.0 queued as {}", state.received.len())
            }
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                "250 2.0.0 reset".into()
            }
            "NOOP" => "250 2.0.0 ok".into(),
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => "502 5.5.2 command not implemented".into(),
        };
        write.write_all(reply.as_bytes()).await?;
        write.write_all(b"\r\n").await?;
    }
}

/// Reads a DATA section up to the lone `.` line; `None` if it exceeds the size cap.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<String>> {
    let mut data = String::new();
    let mut line = String::new();
    let mut too_big = false;
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let content = line.trim_end_matches(['\r', '\n']);
        if content == "." {
            return Ok((!too_big).then_some(data));
        }
        too_big |= data.len() + line.len() > MAX_MESSAGE_BYTES;
        if !too_big {
            data.push_str(content.strip_prefix('.').unwrap_or(content));
            data.push_str("\r\n");
        }
    }
}

fn angle_address(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_scripted_by_the_recipient() {
        let table = [
            ("ann@example.com", 1, 250),
            ("ann+451@example.com", 1, 451),
            ("ann+451@example.com", 2, 250),
            ("ann+421x2@example.com", 2, 421),
            ("ann+421x2@example.com", 3, 250),
            ("ann+550@example.com", 1, 550),
            ("ann+550@example.com", 9, 550),
            ("ann+553@example.com", 1, 553),
            ("ann+news@example.com", 1, 250),
        ];
        for (address, try_number, code) in table {
            assert_eq!(
                scripted_reply(address, try_number).0,
                code,
                "{address} #{try_number}"
            );
        }
        assert_eq!(
            scripted_reply("a+550@x.test", 1).1,
            "5.1.1 <a+550@x.test>: mailbox unknown"
        );
    }

    #[test]
    fn headers_are_found_case_insensitively_and_unfolded() {
        let mail = ReceivedMail {
            from: String::new(),
            to: Vec::new(),
            data: "Subject: a\r\n b\r\nMessage-ID: <x@y>\r\n\r\nMessage-ID: body".into(),
            received_at: std::time::SystemTime::now(),
        };
        assert_eq!(mail.header("subject").as_deref(), Some("a b"));
        assert_eq!(mail.header("message-id").as_deref(), Some("<x@y>"));
        assert_eq!(mail.header("To"), None);
    }

    #[test]
    fn addresses_are_taken_from_angle_brackets() {
        assert_eq!(angle_address("RCPT TO:<a@b.c> NOTIFY=NEVER"), "a@b.c");
        assert_eq!(angle_address("MAIL FROM:<>"), "");
    }
}
