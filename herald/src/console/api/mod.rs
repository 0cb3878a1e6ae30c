//! The JSON API under `/api/v1`, one file per resource; the console's only data source.
//!
//! | route | role | file |
//! |---|---|---|
//! | `POST /api/v1/login`, `POST /api/v1/logout`, `GET /api/v1/session` | none, any, any | `auth.rs` |
//! | `GET /api/v1/overview` | viewer | `overview.rs` |
//! | `GET /api/v1/queues` | viewer | `queues.rs` |
//! | `GET /api/v1/openapi.json` | viewer | `openapi.rs` |
//! | `GET /api/v1/failures` | viewer | `failures.rs` |
//! | `GET /api/v1/jobs`, `GET /api/v1/jobs/{id}` | viewer | `jobs.rs` |
//! | `POST /api/v1/jobs/actions` | operator | `actions.rs` |
//! | `GET /api/v1/actions` | viewer | `actions_log.rs` |
//! | `GET /api/v1/stream` | viewer | `../stream/` (server-sent events) |
//! | `POST /api/v1/jobs/{id}/actions` | operator | `job_action.rs` |
//! | `GET /api/v1/workflows/{batch_id}` | viewer | `workflows.rs` |
//!
//! Every route but the login needs a session; every error has the shape in `errors.rs`.

pub(crate) mod actions;
pub(crate) mod actions_log;
pub(crate) mod failures;
pub(crate) mod filter;
pub(crate) mod job_action;
pub(crate) mod jobs;
pub(crate) mod openapi;
pub(crate) mod overview;
pub(crate) mod queues;
pub(crate) mod workflows;
