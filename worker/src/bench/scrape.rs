//! Scrape cost: fill the jobs table (default 1,000,000 jobs), start an in-process worker with
//! its metrics listener, and time `GET /metrics` over HTTP — which reads the fleet's shared
//! queue sample, never the jobs table — next to the sampling statement one worker of the
//! fleet runs per interval, and the per-scrape statements of the design before it.
//! The bench queues are paused while it runs, so the worker leaves the jobs where they are.

use std::time::{Duration, Instant};

use fieldwork_core::queue::{control, sample, stats};
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::burn::owner_sql;
use crate::settings::{QueueSettings, WorkerSettings};
use crate::{WorkerContext, run_worker};
use fieldwork_core::db::begin_system;

const QUEUES: [&str; 3] = ["bench", "bench.email", "bench.llm"];

/// What to scrape against.
#[derive(Debug, Clone)]
pub struct Shape {
    pub jobs: usize,
    /// `backlog` or `mixed`.
    pub mix: String,
    pub scrapes: usize,
}

/// `(state, queue, scheduled_at, finalized_at)` of job number `i` for each mix.
const FILL_SQL: &str = "
    INSERT INTO jobs (state, queue, kind, args, attempt, scheduled_at, created_at, finalized_at)
    SELECT s.state::job_state, s.queue, 'bench.noop', '{}'::jsonb,
           CASE WHEN s.state = 'completed' THEN 1 ELSE 0 END,
           s.at, now() - interval '2 hours',
           CASE WHEN s.state = 'completed' THEN s.at END
      FROM (SELECT CASE WHEN $3 = 'backlog' THEN 'available'
                        WHEN i % 10 < 7 THEN 'completed'
                        WHEN i % 10 < 9 THEN 'scheduled'
                        ELSE 'available' END AS state,
                   CASE WHEN $3 = 'backlog' THEN 'bench'
                        ELSE (ARRAY['bench', 'bench.email', 'bench.llm'])[i % 3 + 1] END AS queue,
                   CASE WHEN $3 <> 'backlog' AND i % 10 BETWEEN 7 AND 8
                        THEN now() + make_interval(days => (i % 30 + 1)::int)
                        ELSE now() - make_interval(secs => (i % 3600)::float8) END AS at
              FROM generate_series($1::bigint, $2::bigint) i) s";

pub async fn run(
    database_url: &str,
    owner_url: &str,
    system: &PgPool,
    shape: Shape,
) -> anyhow::Result<()> {
    if shape.mix != "backlog" && shape.mix != "mixed" {
        anyhow::bail!("--mix must be backlog or mixed");
    }
    for q in QUEUES {
        control::pause(system, q, "fieldwork-worker bench scrape").await?;
    }
    let result = measure(database_url, owner_url, system, &shape).await;
    let mut tx = begin_system(system).await?;
    sqlx::query("DELETE FROM jobs WHERE queue = ANY($1)")
        .bind(&QUEUES[..])
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for q in QUEUES {
        control::resume(system, q).await?;
    }
    result
}

async fn fill(system: &PgPool, shape: &Shape) -> anyhow::Result<()> {
    let started = Instant::now();
    let chunk = 200_000usize;
    let mut from = 1usize;
    while from <= shape.jobs {
        let to = (from + chunk - 1).min(shape.jobs);
        let mut tx = begin_system(system).await?;
        sqlx::query(FILL_SQL)
            .bind(i64::try_from(from)?)
            .bind(i64::try_from(to)?)
            .bind(&shape.mix)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        from = to + 1;
    }
    println!(
        "filled {} jobs ({}) in {:.1} s",
        shape.jobs,
        shape.mix,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn measure(
    database_url: &str,
    owner_url: &str,
    system: &PgPool,
    shape: &Shape,
) -> anyhow::Result<()> {
    fill(system, shape).await?;
    owner_sql(owner_url, "VACUUM ANALYZE jobs").await;
    let mut tx = begin_system(system).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs")
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    println!("jobs in the table: {total}");

    let timed = |label: &'static str, runs: Vec<Duration>| {
        let ms: Vec<String> = runs
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64() * 1000.0))
            .collect();
        println!("{label}: {} ms", ms.join(", "));
    };
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        sample::sample_if_due(system, "bench", 0.0).await?;
        runs.push(t.elapsed());
    }
    timed(
        "sampling statement (one worker of the fleet, once per JOB_STATS_INTERVAL_SECS)",
        runs,
    );
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        stats::depths(system).await?;
        stats::table_health(system).await?;
        runs.push(t.elapsed());
    }
    timed(
        "before: per-scrape statements of every worker (depth of available jobs, table health)",
        runs,
    );

    let addr = free_addr()?;
    let settings = WorkerSettings {
        queues: QUEUES
            .iter()
            .map(|q| QueueSettings {
                name: (*q).to_owned(),
                concurrency: 10,
            })
            .collect(),
        metrics_addr: Some(addr),
        test_kinds: true,
        ..WorkerSettings::default()
    };
    let ctx = WorkerContext::connect_with(database_url, 8, settings)?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = stop_rx.await;
    }));
    let result = scrape_loop(addr, shape.scrapes).await;
    let _ = stop_tx.send(());
    worker.await??;
    result
}

fn free_addr() -> anyhow::Result<std::net::SocketAddr> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?)
}

/// One `GET /metrics` over a new connection: the response body and how long it took.
async fn get_metrics(addr: std::net::SocketAddr) -> anyhow::Result<(String, Duration)> {
    let t = Instant::now();
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        .await?;
    let mut body = Vec::new();
    stream.read_to_end(&mut body).await?;
    Ok((String::from_utf8_lossy(&body).into_owned(), t.elapsed()))
}

async fn scrape_loop(addr: std::net::SocketAddr, scrapes: usize) -> anyhow::Result<()> {
    // Wait for the listener and a scrape that carries the queue gauges.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok((text, _)) = get_metrics(addr).await
            && text.contains("fieldwork_queue_jobs{")
        {
            break;
        }
        if Instant::now() > deadline {
            anyhow::bail!("the worker's /metrics never showed the queue gauges");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut took = Vec::with_capacity(scrapes);
    let mut size = 0;
    for _ in 0..scrapes.max(1) {
        let (text, d) = get_metrics(addr).await?;
        size = text.len();
        took.push(d);
    }
    took.sort_unstable();
    let pct = |p: f64| {
        let i = ((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1;
        took[i].as_secs_f64() * 1000.0
    };
    println!(
        "GET /metrics ({size} bytes), {} scrapes: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        took.len(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
        pct(1.0)
    );
    Ok(())
}
