//! Fieldwork worker library: `run_worker(ctx, shutdown)` runs one worker process — apalis
//! workers over the Postgres queue of `fieldwork_core::queue` — until the shutdown future
//! resolves. Handlers are registered in [`registry::registry`], cron schedules in
//! [`registry::schedules`]; the binary adds operator commands and the bench.

pub mod bench;
pub mod cli;
pub mod handler;
pub mod jobs;
pub mod ops;
pub mod registry;
pub mod runtime;
pub mod settings;
pub mod test_kinds;

use std::future::Future;

use fieldwork_core::db::{self, DbRole, PoolConfig};
use sqlx::PgPool;

pub use handler::{JobContext, JobError, JobResult, JobTx};
pub use settings::{QueueSettings, WorkerSettings};

/// What a worker needs to run.
#[derive(Clone)]
pub struct WorkerContext {
    /// Tenant pool (`fieldwork_app`): job handlers open tenant transactions on it.
    pub app_pool: PgPool,
    /// System pool (`fieldwork_system`): queue bookkeeping and cross-tenant scans.
    pub system_pool: PgPool,
    pub settings: WorkerSettings,
}

impl WorkerContext {
    /// Pools of `max_connections` each and default settings.
    pub fn connect(database_url: &str, max_connections: u32) -> fieldwork_core::Result<Self> {
        Self::connect_with(database_url, max_connections, WorkerSettings::default())
    }

    pub fn connect_with(
        database_url: &str,
        max_connections: u32,
        settings: WorkerSettings,
    ) -> fieldwork_core::Result<Self> {
        let mut cfg = PoolConfig::new(database_url, "fieldwork-worker");
        cfg.max_connections = max_connections;
        Ok(Self {
            app_pool: db::pool(&cfg, DbRole::App)?,
            system_pool: db::pool(&cfg, DbRole::System)?,
            settings,
        })
    }
}

/// Runs a worker until `shutdown` resolves, then shuts down gracefully.
pub async fn run_worker(
    ctx: WorkerContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> fieldwork_core::Result<()> {
    runtime::run(ctx.app_pool, ctx.system_pool, ctx.settings, shutdown).await
}
