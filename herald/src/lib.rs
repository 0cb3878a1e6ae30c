//! # herald
//!
//! The `herald` command: `herald worker` runs the runner library (`herald-worker`),
//! the operator commands read and change the queue, and `herald demo` shows Herald's
//! main job end to end. `main.rs` only parses the arguments, starts telemetry, builds
//! the process' [`cli::Context`] and calls [`cli::run`]; tests run a command in-process
//! with [`cli::main`] and their own context.
//!
//! # Layout
//! - `cli/`: one file per command (the table in [`cli`])
//! - `demo/`: `herald demo`
//! - `operator/`: what the operator commands and the console share (the job filter, applying an action)
//! - `console/`: `herald console`: the web console and its JSON API
//! - `queries.rs`: the SQL only these commands run (`queries/<area>/*.sql`)

pub mod cli;
pub mod console;
pub mod demo;
pub mod operator;
pub(crate) mod queries;
