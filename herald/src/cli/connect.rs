//! Connecting for a one-shot command, and database errors as one line an operator can
//! act on: never SQL, never the password.
//!
//! | what happened | the line says |
//! |---|---|
//! | `DATABASE_URL` does not parse as `postgres://…` | `DATABASE_URL is malformed (why): expected postgres://USER:PASSWORD@HOST:PORT/DATABASE` (the value is not echoed; exit 2) |
//! | nothing listens at the host and port | `cannot connect to the database at HOST:PORT: connection refused` |
//! | the server does not answer in `HERALD_DB_ACQUIRE_TIMEOUT` | `cannot connect to the database at HOST:PORT: no answer within …` |
//! | Herald's tables (or newer parts of them) are missing | `…: the database has no Herald schema, or an older one: run \`herald migrate\`` |
//! | any other database error | its message, sanitised |

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, PgPool};

use super::CliError;
use herald_worker::config::WorkerConfig;
use herald_worker::sanitize::sanitize;

/// SQLSTATEs that mean Herald's schema is missing or older than this binary: undefined
/// table, schema, function, column.
const UNMIGRATED: [&str; 4] = ["42P01", "3F000", "42883", "42703"];

/// Connects for a one-shot command, with a short timeout and a one-line error that
/// says where it tried and why it failed.
pub(crate) async fn connect(cfg: &WorkerConfig) -> Result<PgPool, CliError> {
    let options = parse_url(&cfg.database_url)?;
    let timeout = cfg.acquire_timeout;
    let e = match herald_worker::db::connect_with(options.clone(), 2, timeout).await {
        Ok(pool) => return Ok(pool),
        Err(e) => e,
    };
    let why = match &e {
        sqlx::Error::Io(io) => io_reason(io),
        // The pool's time-out hides the cause: one direct attempt finds it.
        sqlx::Error::PoolTimedOut => probe(&options, timeout).await,
        other => one_line(other),
    };
    Err(CliError::Failed(format!(
        "cannot connect to the database at {}: {why}",
        endpoint(&options)
    )))
}

/// A database error as one sanitised line, without SQL.
pub(crate) fn one_line(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) if db.code().is_some_and(|c| UNMIGRATED.contains(&&*c)) => {
            "the database has no Herald schema, or an older one: run `herald migrate`".to_owned()
        }
        sqlx::Error::Database(db) => sanitize(db.message()),
        sqlx::Error::PoolTimedOut => {
            "no database connection within the acquire timeout (HERALD_DB_ACQUIRE_TIMEOUT)"
                .to_owned()
        }
        other => sanitize(&other.to_string()),
    }
}

/// `DATABASE_URL` as connect options; a malformed one is a usage error that does not
/// echo the value (it may hold a password).
fn parse_url(url: &str) -> Result<PgConnectOptions, CliError> {
    let malformed = |why: &str| {
        CliError::Usage(format!(
            "DATABASE_URL is malformed ({why}): expected postgres://USER:PASSWORD@HOST:PORT/DATABASE"
        ))
    };
    let scheme = url.split_once("://").map(|(s, _)| s);
    if !matches!(scheme, Some("postgres" | "postgresql")) {
        return Err(malformed("it does not start with postgres://"));
    }
    PgConnectOptions::from_str(url).map_err(|_| malformed("it does not parse as a URL"))
}

/// Where `options` point: `host:port`, or the socket directory.
fn endpoint(options: &PgConnectOptions) -> String {
    let host = options.get_host();
    if host.starts_with('/') {
        return host.to_owned();
    }
    format!("{host}:{}", options.get_port())
}

fn io_reason(io: &std::io::Error) -> String {
    use std::io::ErrorKind::{
        ConnectionRefused, ConnectionReset, HostUnreachable, NetworkUnreachable, TimedOut,
    };
    match io.kind() {
        kind @ (ConnectionRefused | ConnectionReset | HostUnreachable | NetworkUnreachable
        | TimedOut) => kind.to_string(),
        _ => sanitize(&io.to_string()),
    }
}

/// After a pool time-out: one direct attempt, bounded by `timeout`, to learn the cause
/// (connection refused, no answer, authentication failed …).
async fn probe(options: &PgConnectOptions, timeout: Duration) -> String {
    match tokio::time::timeout(timeout, PgConnection::connect_with(options)).await {
        Err(_) => format!("no answer within {}s", timeout.as_secs_f64()),
        Ok(Err(sqlx::Error::Io(io))) => io_reason(&io),
        Ok(Err(e)) => one_line(&e),
        Ok(Ok(conn)) => {
            drop(conn);
            "no connection within the acquire timeout (HERALD_DB_ACQUIRE_TIMEOUT)".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_malformed_url_is_a_usage_error_that_does_not_echo_it() {
        for url in ["pw@db/x", "mysql://u:pw@db/x", "postgres://u:pw@db:port/x"] {
            match parse_url(url) {
                Err(CliError::Usage(m)) => {
                    assert!(m.starts_with("DATABASE_URL is malformed"), "{m}");
                    assert!(!m.contains("pw@"), "{m}");
                }
                other => panic!("{url}: {other:?}"),
            }
        }
        let ok = parse_url("postgres://u:pw@db.example.com/x").map(|o| endpoint(&o));
        assert_eq!(ok.ok().as_deref(), Some("db.example.com:5432"));
    }
}
