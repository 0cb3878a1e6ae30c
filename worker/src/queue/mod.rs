//! Herald's PostgreSQL queue: the apalis backend and the machinery around it.
//!
//! - `claim.rs`: claiming batches (`FOR UPDATE SKIP LOCKED`), releasing unstarted jobs
//! - `backend.rs`: `PgQueue`, the apalis-core `Backend` for one queue
//! - `wakeup.rs`: LISTEN/NOTIFY wake-ups shared by every queue of the process
//! - `holdings.rs`: `Holdings`, the jobs this process holds (claimed, not yet recorded)
//! - `cancels.rs`: `Cancels`, the cancellation signals of the attempts this process runs
//! - `lease.rs`: heartbeats and rescue of jobs whose worker died

pub(crate) mod backend;
pub(crate) mod cancels;
pub mod claim;
pub(crate) mod holdings;
pub(crate) mod lease;
pub(crate) mod wakeup;

pub(crate) use backend::{PgQueue, QueueSettings};
pub(crate) use cancels::Cancels;
pub(crate) use claim::ClaimedJob;
pub(crate) use holdings::Holdings;
pub(crate) use wakeup::Wakeups;
