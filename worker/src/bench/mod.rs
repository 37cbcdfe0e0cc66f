//! `fieldwork-worker bench`: like `river bench`. `burn` inserts N no-op jobs in batches and
//! drains them with an in-process worker (jobs/s for both, peak RSS during the drain);
//! `latency` feeds single jobs at a steady rate to an idle worker (enqueue→start
//! percentiles); `scrape` times the worker's `/metrics` with a full jobs table; `messages`
//! sends scheduled messages through the real SMTP path to the in-process [`smtp_sink`]
//! (messages/s, send lag); `webhooks` measures what subscribers cost the API's writes and
//! the fan-out lag (`webhooks.rs`); `lists` times list pages over un-analyzed tables; `load`
//! drives a running API with a mixed HTTP workload (needs no database of its own). Run it from
//! a release build against a database it may write to: it
//! migrates it as `MIGRATE_DATABASE_URL` (the owner; also vacuums as it), runs as
//! `DATABASE_URL` (the runtime login) like any worker, and uses (and empties) the queue `bench`
//! (`scrape` also `bench.email` and `bench.llm`), and its own tenants for `messages`.

mod burn;
pub mod lists;
pub mod load;
pub mod messages;
pub mod received;
mod scrape;
pub mod smtp_sink;
mod webhook_sink;
mod webhooks;

use std::time::{Duration, Instant};

use fieldwork_core::db::{self, DbRole, PoolConfig};
use fieldwork_core::queue::{JobOptions, NewJob, insert};
use sqlx::PgPool;

use crate::cli::BenchCommand;
use crate::jobs::bench_noop::{LATENCIES, NoopJob, record_latencies};
use crate::settings::{QueueSettings, WorkerSettings};
use crate::{WorkerContext, run_worker};

pub async fn run(
    database_url: &str,
    migrate_database_url: &str,
    command: BenchCommand,
) -> anyhow::Result<()> {
    // The HTTP load needs only the API: no migrations, no database of its own.
    if let BenchCommand::Load {
        url,
        clients,
        seconds,
        tenants,
        report_every,
        only,
    } = command
    {
        let shape = load::Shape {
            url,
            clients: clients.max(1),
            seconds,
            tenants,
            report_every,
            only,
        };
        return load::run(shape).await;
    }
    db::migrate(migrate_database_url).await?;
    db::grant_runtime_login(migrate_database_url, database_url).await?;
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
            inserters,
        } => {
            let shape = burn::Shape {
                jobs,
                batch,
                concurrency,
                buffer,
                inserters,
            };
            burn::run(database_url, migrate_database_url, &system, shape).await
        }
        BenchCommand::Messages {
            messages: n,
            concurrency,
            buffer,
            tenants,
            rate,
        } => {
            let shape = messages::Shape {
                messages: n,
                concurrency,
                buffer,
                tenants,
                rate,
            };
            messages::run(database_url, shape).await
        }
        BenchCommand::Load { .. } => Ok(()),
        BenchCommand::Lists {
            tenants,
            big,
            small,
            repeat,
        } => {
            let shape = lists::Shape {
                tenants: tenants.max(2),
                big,
                small,
                repeat: repeat.max(1),
            };
            lists::run(database_url, shape).await
        }
        BenchCommand::Latency {
            rate,
            seconds,
            concurrency,
        } => latency(database_url, &system, rate, seconds, concurrency).await,
        BenchCommand::Webhooks {
            seconds,
            clients,
            rate,
        } => {
            let shape = webhooks::Shape {
                seconds,
                clients,
                rate,
            };
            webhooks::run(database_url, shape).await
        }
        BenchCommand::Scrape { jobs, mix, scrapes } => {
            let shape = scrape::Shape { jobs, mix, scrapes };
            scrape::run(database_url, migrate_database_url, &system, shape).await
        }
    };
    clean(&system).await?;
    system.close().await;
    result
}

/// Removes every job of the bench queue.
async fn clean(pool: &PgPool) -> anyhow::Result<()> {
    let mut tx = db::begin_system(pool).await?;
    sqlx::query("DELETE FROM jobs WHERE queue = 'bench'")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
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

/// Latency: an idle in-process worker; single jobs inserted (each its own statement and
/// commit) at a steady rate; enqueue→start = handler start minus the insert's `created_at`.
async fn latency(
    database_url: &str,
    system: &PgPool,
    rate: u64,
    seconds: u64,
    concurrency: usize,
) -> anyhow::Result<()> {
    let settings = WorkerSettings {
        queues: vec![QueueSettings {
            name: "bench".into(),
            concurrency,
        }],
        test_kinds: true,
        ..WorkerSettings::default()
    };
    let ctx = WorkerContext::connect_with(database_url, 8, settings)?;
    record_latencies(true);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = stop_rx.await;
    }));
    // Let the worker connect and LISTEN before measuring.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let total = (rate.max(1) * seconds.max(1)) as usize;
    let template = NewJob::new(&NoopJob {}, JobOptions::default())?;
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate.max(1) as f64));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for _ in 0..total {
        ticker.tick().await;
        let mut tx = db::begin_system(system).await?;
        insert(&mut tx, template.clone()).await?;
        tx.commit().await?;
    }
    let waited = Instant::now();
    let mut samples = loop {
        let n = LATENCIES
            .lock()
            .map(|l| l.as_ref().map_or(0, Vec::len))
            .unwrap_or(0);
        if n >= total || waited.elapsed() > Duration::from_secs(30) {
            break LATENCIES
                .lock()
                .ok()
                .and_then(|mut l| l.take())
                .unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    record_latencies(false);
    let _ = stop_tx.send(());
    worker.await??;
    samples.sort_unstable();
    let pct = |p: f64| {
        let i = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len().max(1)) - 1;
        samples.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "latency: {} jobs at {rate}/s, concurrency {concurrency}: enqueue→start p50 {:.2} ms, \
         p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0)
    );
    if samples.len() < total {
        anyhow::bail!("only {} of {total} jobs started", samples.len());
    }
    Ok(())
}
