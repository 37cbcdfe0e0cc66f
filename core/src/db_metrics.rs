//! Database pool gauges, set by each process when it is scraped: connections in use and idle
//! per pool, and each pool's size limit, so that saturation (in use / max) can be alerted on.

use metrics::{Unit, describe_gauge, gauge};
use sqlx::PgPool;

pub const POOL_CONNECTIONS: &str = "fieldwork_db_pool_connections";
pub const POOL_MAX: &str = "fieldwork_db_pool_max_connections";

/// HELP texts; called once when the exporter is installed.
pub fn describe() {
    describe_gauge!(
        POOL_CONNECTIONS,
        Unit::Count,
        "Open database connections per pool (app, system) and state (idle, in_use)"
    );
    describe_gauge!(
        POOL_MAX,
        Unit::Count,
        "Most connections the pool may open (DB_MAX_CONNECTIONS, or more for the worker's loops)"
    );
}

/// Sets the gauges of `pool`, named `name` (a fixed word: `app`, `system`).
pub fn record(name: &'static str, pool: &PgPool) {
    let size = f64::from(pool.size());
    let idle = pool.num_idle() as f64;
    gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "idle").set(idle);
    gauge!(POOL_CONNECTIONS, "pool" => name, "state" => "in_use").set((size - idle).max(0.0));
    gauge!(POOL_MAX, "pool" => name).set(f64::from(pool.options().get_max_connections()));
}
