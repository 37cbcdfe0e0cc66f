//! Fieldwork worker library: `run_worker(ctx, shutdown)` runs one worker process until the
//! shutdown future resolves. For now it connects and idles; job handlers arrive with the job
//! engine.

use std::future::Future;
use std::time::Duration;

use fieldwork_core::db::{self, DbRole, PoolConfig};
use sqlx::PgPool;

/// What a worker needs to run.
#[derive(Clone)]
pub struct WorkerContext {
    /// Tenant pool (`fieldwork_app`): job handlers open tenant transactions on it.
    pub app_pool: PgPool,
    /// System pool (`fieldwork_system`): queue bookkeeping and cross-tenant scans.
    pub system_pool: PgPool,
}

impl WorkerContext {
    pub fn connect(database_url: &str, max_connections: u32) -> fieldwork_core::Result<Self> {
        let mut cfg = PoolConfig::new(database_url, "fieldwork-worker");
        cfg.max_connections = max_connections;
        Ok(Self {
            app_pool: db::pool(&cfg, DbRole::App)?,
            system_pool: db::pool(&cfg, DbRole::System)?,
        })
    }
}

/// Runs until `shutdown` resolves: checks the database once, then idles.
pub async fn run_worker(
    ctx: WorkerContext,
    shutdown: impl Future<Output = ()>,
) -> fieldwork_core::Result<()> {
    // Fail fast with a clear error when the database is unreachable at start.
    sqlx::query("SELECT 1").execute(&ctx.system_pool).await?;
    tracing::info!("fieldwork-worker connected; waiting for work");
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
    }
    ctx.app_pool.close().await;
    ctx.system_pool.close().await;
    tracing::info!("fieldwork-worker stopped");
    Ok(())
}
