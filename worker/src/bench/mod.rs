//! `fieldwork-worker bench`: like `river bench`. `burn` inserts N no-op jobs in batches and
//! drains them with an in-process worker (jobs/s for both, peak RSS during the drain);
//! `latency` feeds single jobs at a steady rate to an idle worker (enqueue→start
//! percentiles). Run it from a release build against a migrated database it may write to:
//! it uses (and empties) the queue `bench`.

mod burn;
mod latency;

use std::time::Duration;

use fieldwork_core::db::{self, DbRole, PoolConfig};
use sqlx::PgPool;

use crate::cli::BenchCommand;

pub async fn run(database_url: &str, command: BenchCommand) -> anyhow::Result<()> {
    db::migrate(database_url).await?;
    let mut cfg = PoolConfig::new(database_url, "fieldwork-bench");
    cfg.max_connections = 8;
    let system = db::pool(&cfg, DbRole::System)?;
    let pg_version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&system)
        .await?;
    println!(
        "postgres {pg_version}; {} CPUs; build {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if cfg!(debug_assertions) {
            "debug (use --release)"
        } else {
            "release"
        }
    );
    clean(&system).await?;
    let result = match command {
        BenchCommand::Burn {
            jobs,
            batch,
            concurrency,
            buffer,
        } => burn::run(database_url, &system, jobs, batch, concurrency, buffer).await,
        BenchCommand::Latency {
            rate,
            seconds,
            concurrency,
        } => latency::run(database_url, &system, rate, seconds, concurrency).await,
    };
    clean(&system).await?;
    system.close().await;
    result
}

/// Removes every job of the bench queue.
async fn clean(pool: &PgPool) -> anyhow::Result<()> {
    sqlx::query("DELETE FROM jobs WHERE queue = 'bench'")
        .execute(pool)
        .await?;
    Ok(())
}

/// This process's resident set size and its peak (`VmRSS`, `VmHWM`), in KiB.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Resets the peak RSS mark, so `VmHWM` covers only what follows.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn per_second(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64().max(1e-9)
}
