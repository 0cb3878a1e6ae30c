//! What a command runs with: the environment its configuration comes from, the
//! database (connected on first use), and the streams it reads and writes. `main.rs`
//! builds one from the process ([`Context::process`]); the operator tests build one with
//! their own environment and buffers ([`Context::new`]) and run the commands in-process.
//!
//! | part | `herald` process | in-process (tests) |
//! |---|---|---|
//! | environment (`DATABASE_URL`, `HERALD_*`, `USER`) | `std::env`, empty values unset | a lookup the caller gives |
//! | database | connected by [`Context::pool`], closed by [`super::run`] | the same |
//! | `out`: the command's result | stdout | a buffer |
//! | `err`: prompts, progress, the one-line error | stderr | a buffer |
//! | stdin: `--payload -`, the confirmation prompt | stdin; a prompt only on a terminal | given bytes, never a terminal |

use std::io::{BufRead, IsTerminal, Read, Write};

use sqlx::PgPool;

use super::{CliError, connect};
use herald_worker::config::WorkerConfig;

/// Reads one environment variable: its value, or `None` when unset (or empty).
type Lookup = Box<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What a command runs with (the table in the module docs).
pub struct Context<'a> {
    env: Lookup,
    /// The command's result (stdout).
    pub out: &'a mut (dyn Write + Send),
    /// Prompts, progress and the one-line error (stderr).
    pub err: &'a mut (dyn Write + Send),
    stdin: Input,
    err_is_terminal: bool,
    pool: Option<PgPool>,
}

/// Where stdin comes from.
enum Input {
    /// The process' stdin.
    Process,
    /// Bytes given by the caller; never a terminal.
    Given(std::io::Cursor<Vec<u8>>),
}

impl<'a> Context<'a> {
    /// The `herald` process: its environment, stdin, and `out`/`err` (stdout, stderr).
    pub fn process(out: &'a mut (dyn Write + Send), err: &'a mut (dyn Write + Send)) -> Self {
        Self {
            env: Box::new(|name| std::env::var(name).ok().filter(|v| !v.is_empty())),
            out,
            err,
            stdin: Input::Process,
            err_is_terminal: std::io::stderr().is_terminal(),
            pool: None,
        }
    }

    /// A context reading its environment through `env` (`None` for unset), writing to
    /// `out` and `err`, with an empty stdin that is not a terminal.
    pub fn new(
        env: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
        out: &'a mut (dyn Write + Send),
        err: &'a mut (dyn Write + Send),
    ) -> Self {
        Self {
            env: Box::new(env),
            out,
            err,
            stdin: Input::Given(std::io::Cursor::new(Vec::new())),
            err_is_terminal: false,
            pool: None,
        }
    }

    /// The same context with `input` on its stdin (not a terminal).
    pub fn with_stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Input::Given(std::io::Cursor::new(input.into()));
        self
    }

    /// An environment variable, `None` when unset or empty.
    pub fn var(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.is_empty())
    }

    /// The configuration from the environment (`WorkerConfig::from_lookup`).
    pub fn config(&self) -> Result<WorkerConfig, CliError> {
        Ok(WorkerConfig::from_lookup(|name| self.var(name))?)
    }

    /// The database of `DATABASE_URL`, connected on first use with the one-line errors
    /// of `connect.rs`; later calls share the connection pool.
    pub async fn pool(&mut self) -> Result<PgPool, CliError> {
        if let Some(pool) = &self.pool {
            return Ok(pool.clone());
        }
        let pool = connect(&self.config()?).await?;
        self.pool = Some(pool.clone());
        Ok(pool)
    }

    /// Closes the database connections, if any were opened.
    pub async fn close(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.close().await;
        }
    }

    /// The operator running the command: `USER`, else `LOGNAME`, else `unknown`.
    pub fn operator(&self) -> String {
        ["USER", "LOGNAME"]
            .iter()
            .find_map(|name| self.var(name).filter(|v| !v.trim().is_empty()))
            .unwrap_or_else(|| "unknown".to_owned())
    }

    /// Whether stdin is a terminal (a person who can answer a prompt).
    pub fn stdin_is_terminal(&self) -> bool {
        match self.stdin {
            Input::Process => std::io::stdin().is_terminal(),
            Input::Given(_) => false,
        }
    }

    /// Reads one line of stdin into `line`.
    pub fn read_line(&mut self, line: &mut String) -> std::io::Result<usize> {
        match &mut self.stdin {
            Input::Process => std::io::stdin().lock().read_line(line),
            Input::Given(bytes) => bytes.read_line(line),
        }
    }

    /// Stdin as a reader (`--payload -`).
    pub fn stdin(&mut self) -> Box<dyn Read + '_> {
        match &mut self.stdin {
            Input::Process => Box::new(std::io::stdin()),
            Input::Given(bytes) => Box::new(bytes),
        }
    }

    /// Where a progress line goes: `err` when it is a terminal, else nowhere.
    pub fn progress(&mut self) -> Option<&mut (dyn Write + Send)> {
        if self.err_is_terminal {
            Some(&mut *self.err)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_operator_is_user_then_logname_then_unknown_and_empty_values_are_unset() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let cases: [(&'static [(&str, &str)], &str); 4] = [
            (&[("USER", "alice"), ("LOGNAME", "bob")], "alice"),
            (&[("USER", " "), ("LOGNAME", "bob")], "bob"),
            (&[("USER", ""), ("LOGNAME", "")], "unknown"),
            (&[], "unknown"),
        ];
        for (vars, operator) in cases {
            let ctx = Context::new(lookup(vars), &mut out, &mut err);
            assert_eq!(ctx.operator(), operator, "{vars:?}");
        }
        let ctx = Context::new(lookup(&[("DATABASE_URL", "")]), &mut out, &mut err);
        assert_eq!(ctx.var("DATABASE_URL"), None);
        assert!(matches!(ctx.config(), Err(CliError::Usage(m)) if m == "DATABASE_URL is not set"));
    }

    #[test]
    fn given_stdin_is_read_and_is_never_a_terminal_nor_gets_progress() {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let mut ctx = Context::new(lookup(&[]), &mut out, &mut err).with_stdin("y\nrest");
        assert!(!ctx.stdin_is_terminal());
        let mut line = String::new();
        assert_eq!(ctx.read_line(&mut line).ok(), Some(2));
        assert_eq!(line, "y\n");
        let mut rest = String::new();
        assert_eq!(ctx.stdin().read_to_string(&mut rest).ok(), Some(4));
        assert_eq!(rest, "rest");
        assert!(ctx.progress().is_none());
    }
}
