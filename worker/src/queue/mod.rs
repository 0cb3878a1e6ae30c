//! Herald's PostgreSQL queue: the apalis backend and the machinery around it.
//!
//! - `claim.rs`: claiming batches (`FOR UPDATE SKIP LOCKED`), releasing unstarted jobs
//! - `backend.rs`: [`PgQueue`], the apalis-core `Backend` for one queue
//! - `wakeup.rs`: LISTEN/NOTIFY wake-ups shared by every queue of the process
//! - `holdings.rs`: [`Holdings`], the jobs this process holds (claimed, not yet recorded)
//! - `lease.rs`: heartbeats and rescue of jobs whose worker died

pub mod backend;
pub mod claim;
pub mod holdings;
pub mod lease;
pub mod wakeup;

pub use backend::{PgQueue, QueueSettings};
pub use claim::ClaimedJob;
pub use holdings::Holdings;
pub use wakeup::Wakeups;
