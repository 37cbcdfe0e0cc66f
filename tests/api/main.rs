//! HTTP-level tests of the API against a real server on a random port and real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bad_input;
mod customers;
mod docs;
mod paging;
mod rls;
