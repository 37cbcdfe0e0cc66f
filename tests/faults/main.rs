//! Faults production puts the system through, each with real processes and real Postgres:
//! the database restarted under API traffic and a job drain (`outage`), a pool of 10 flooded
//! by 200 clients (`pool`), `kill -9` of the API during a burst of writes (`api_crash`), and
//! list plans that must not depend on table statistics (`plans`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api_crash;
mod outage;
mod plans;
mod pool;
mod support;
