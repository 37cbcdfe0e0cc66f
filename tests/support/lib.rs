//! Test support shared by every integration test: a fresh migrated database per test
//! (`TestDb`), the API served on a random port (`TestApp`), and HTTP helpers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod app;
pub mod db;

pub use app::{TestApp, TestResponse};
pub use db::TestDb;
