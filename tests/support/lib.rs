//! Support code for Herald's integration tests (`integration/`): a fresh database per
//! test, test-only jobs that record their side effects, in-process and out-of-process
//! workers, workers on separate hosts (network namespaces, `netns`), and waiting helpers
//! that poll instead of sleeping.

pub mod db;
pub mod jobs;
pub mod metrics;
pub mod netns;
pub mod otlp;
pub mod wait;
pub mod workers;
