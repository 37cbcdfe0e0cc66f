//! Test support shared by every integration test: a fresh migrated database per test
//! (`TestDb`), the API served on a random port (`TestApp`) or as a real process
//! (`ApiProcess`), a PostgreSQL cluster a test may stop and start (`OwnCluster`), PgBouncer in front of a test database (`PgBouncer`), and HTTP helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod app;
pub mod cluster;
pub mod db;
pub mod pgbouncer;
pub mod process;
pub mod wait;

pub use app::{TestApp, TestResponse};
pub use db::TestDb;
pub use wait::wait_for;
