//! HTTP-level tests of the API against a real server on a random port and real Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod auth;
mod auth_abuse;
mod auth_memory;
mod bad_input;
mod business_timezone;
mod customers;
mod docs;
mod http_limits;
mod invoices;
mod least_privilege;
mod messages;
mod openapi;
mod paging;
mod products;
mod rls;
mod state_machines;
mod tenant_isolation;
mod tenant_keys;
mod tickets;
