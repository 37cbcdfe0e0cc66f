//! Latency: an idle in-process worker; single jobs inserted (each its own statement and
//! commit) at a steady rate; enqueue→start = handler start minus the insert's `created_at`.

use std::time::{Duration, Instant};

use fieldwork_core::queue::{JobOptions, NewJob, insert};
use sqlx::PgPool;

use crate::settings::{QueueSettings, WorkerSettings};
use crate::test_kinds::{LATENCIES, NoopJob, record_latencies};
use crate::{WorkerContext, run_worker};

pub async fn run(
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
    let mut conn = system.acquire().await?;
    for _ in 0..total {
        ticker.tick().await;
        insert(&mut conn, template.clone()).await?;
    }
    drop(conn);
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
