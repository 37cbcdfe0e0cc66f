//! Job engine tests against real Postgres: enqueue, uniqueness and tenancy on the SQL level;
//! the runtime in-process (backoff, poisoned payloads, snooze, cancellation, RLS of
//! handlers); and real `fieldwork-worker` processes (crash with kill -9, lease expiry,
//! cron across a fleet, graceful shutdown on SIGTERM).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod enqueue;
mod fleet;
mod least_privilege;
mod maintenance;
mod pgbouncer;
mod runtime;
mod support;
