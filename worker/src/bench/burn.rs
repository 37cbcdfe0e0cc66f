//! Burn-down: insert N no-op jobs in batches (one multi-row statement each), then drain them
//! with one in-process worker; drain rate from the database's own timestamps (first claim to
//! last completion), peak RSS of this process during the drain.

use std::time::{Duration, Instant};

use fieldwork_core::db::begin_system;
use fieldwork_core::queue::metrics::completed_count;
use fieldwork_core::queue::{JobOptions, NewJob, insert_many};
use sqlx::PgPool;

use super::{per_second, reset_peak_rss, rss_kib};
use crate::jobs::bench_noop::NoopJob;
use crate::settings::{QueueSettings, WorkerSettings};
use crate::{WorkerContext, run_worker};

/// What to burn down.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub jobs: usize,
    pub batch: usize,
    pub concurrency: usize,
    pub buffer: usize,
    pub inserters: usize,
}

pub async fn run(
    database_url: &str,
    owner_url: &str,
    system: &PgPool,
    shape: Shape,
) -> anyhow::Result<()> {
    let Shape {
        jobs,
        concurrency,
        buffer,
        ..
    } = shape;
    let batch = shape.batch.max(1);
    let inserters = shape.inserters.max(1);
    // Start from a vacuumed table, not from the dead tuples of an earlier run.
    owner_sql(owner_url, "VACUUM ANALYZE jobs").await;
    let template = NewJob::new(&NoopJob {}, JobOptions::default())?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..inserters {
        let share = jobs / inserters + usize::from(i < jobs % inserters);
        let (pool, template) = (system.clone(), template.clone());
        tasks.push(tokio::spawn(async move {
            let mut left = share;
            let mut statements = Vec::new();
            while left > 0 {
                let n = left.min(batch);
                let rows = vec![template.clone(); n];
                let t = Instant::now();
                // One system transaction per statement, as autocommit was.
                let mut tx = begin_system(&pool).await?;
                insert_many(&mut tx, &rows).await?;
                tx.commit().await?;
                statements.push(t.elapsed());
                left -= n;
            }
            Ok::<_, anyhow::Error>(statements)
        }));
    }
    let mut statements = Vec::new();
    for t in tasks {
        statements.extend(t.await??);
    }
    statements.sort_unstable();
    let insert_time = started.elapsed();
    println!(
        "insert {jobs} jobs in batches of {batch} on {inserters} connection(s): {:.0} ms = {:.0} jobs/s \
         (per statement: median {:.1} ms, max {:.1} ms)",
        insert_time.as_secs_f64() * 1000.0,
        per_second(jobs, insert_time),
        statements[statements.len() / 2].as_secs_f64() * 1000.0,
        statements.last().map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    );
    // Fresh statistics, as autovacuum would soon provide.
    owner_sql(owner_url, "ANALYZE jobs").await;

    let settings = WorkerSettings {
        queues: vec![QueueSettings {
            name: "bench".into(),
            concurrency,
        }],
        buffer: Some(buffer),
        fetch_batch: batch,
        test_kinds: true,
        ack_batch: batch.max(1000),
        ..WorkerSettings::default()
    };
    let ctx = WorkerContext::connect_with(database_url, 8, settings)?;
    reset_peak_rss();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(run_worker(ctx, async move {
        let _ = stop_rx.await;
    }));
    let wall = Instant::now();
    // Progress from this process's own counter of acknowledged completions: polling the
    // table would load the database we are measuring.
    let before = completed_count();
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let done = completed_count() - before;
        if done as usize >= jobs {
            break;
        }
        if wall.elapsed() > Duration::from_secs(600) {
            anyhow::bail!("drain did not finish in 10 minutes ({done} of {jobs})");
        }
    }
    let wall_time = wall.elapsed();
    let (rss, peak) = rss_kib();
    let _ = stop_tx.send(());
    worker.await??;
    let mut tx = begin_system(system).await?;
    let span: f64 = sqlx::query_scalar(
        "SELECT extract(epoch FROM max(finalized_at) - min(attempted_at))::float8
           FROM jobs WHERE queue = 'bench'",
    )
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    println!(
        "drain {jobs} jobs with concurrency {concurrency}, buffer {buffer}, batch {batch}: \
         {:.0} ms = {:.0} jobs/s (first claim to last ack; wall incl. start-up {:.0} ms)",
        span * 1000.0,
        jobs as f64 / span.max(1e-9),
        wall_time.as_secs_f64() * 1000.0
    );
    println!(
        "worker process RSS during the drain: peak {:.1} MiB (now {:.1} MiB)",
        peak as f64 / 1024.0,
        rss as f64 / 1024.0
    );
    Ok(())
}

/// Runs maintenance as the table owner (`MIGRATE_DATABASE_URL`; the runtime roles may not
/// vacuum). Best effort.
pub(super) async fn owner_sql(owner_url: &str, sql: &'static str) {
    match <sqlx::PgConnection as sqlx::Connection>::connect(owner_url).await {
        Ok(mut owner) => {
            if let Err(e) = sqlx::query(sql).execute(&mut owner).await {
                eprintln!("{sql}: {e}");
            }
        }
        Err(e) => eprintln!("{sql}: {e}"),
    }
}
