//! Support code for Herald's integration tests (see `integration/`).
