//! Job engine tests against real Postgres: enqueue, uniqueness and tenancy on the SQL level;
//! the runtime in-process (backoff, poisoned payloads, snooze, cancellation, RLS of
//! handlers); and real `fieldwork-worker` processes (crash with kill -9, lease expiry,
//! cron across a fleet, graceful shutdown on SIGTERM, pausing a queue for the fleet);
//! attribute extraction end to end with the rules extractor and an OpenAI-compatible stub.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod enqueue;
mod extraction;
mod fleet;
mod least_privilege;
mod maintenance;
mod pause;
mod pgbouncer;
mod runtime;
mod support;
