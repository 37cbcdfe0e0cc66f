//! Audit fan-out end to end: the API, a worker and a real HTTP receiver on a fresh database
//! each — signed, ordered deliveries, retries, disabling and replay, the SSRF guard, the live
//! event stream, and a worker killed during a large fan-out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod crash;
mod delivery;
mod failures;
mod harness;
mod receiver;
mod rls;
mod ssrf;
mod stream;
