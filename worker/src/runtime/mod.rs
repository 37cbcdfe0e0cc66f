//! The worker runtime: one apalis worker per queue (our Postgres backend, the ack layer,
//! concurrency limit, `parallelize(tokio::spawn)`, the dispatcher) under an apalis
//! `Monitor`, plus the process-wide loops — listener, heartbeat, scheduler, rescuer,
//! pruner, cron, queue sampler, metrics and the jobs page — and graceful shutdown.

pub mod ack;
pub mod backend;
pub mod cancel;
pub mod cron;
pub mod dispatch;
pub mod held;
pub mod listener;
pub mod maintenance;
pub mod metrics_http;
pub mod stats_sampler;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use apalis::layers::WorkerBuilderExt;
use apalis_core::monitor::Monitor;
use apalis_core::worker::builder::WorkerBuilder;
use apalis_core::worker::ext::parallelize::ParallelizeExt;
use chrono::Utc;
use fieldwork_core::queue::{ClaimedJob, ErrorEntry, Failure, Resolution, fail_many};
use sqlx::PgPool;
use tokio::sync::{Notify, watch};

use crate::WorkerContext;
use crate::jobs;
use crate::registry::Registry;
use crate::settings::{QueueSettings, WorkerSettings};
use ack::Acker;
use backend::{PgQueueBackend, release_buffered};
use dispatch::Dispatcher;
use held::{CancelToken, Held, QueueSlot};

/// What apalis hands the services for each run: the claimed row plus its cancel signal.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub queue: Arc<str>,
    pub cancel: Arc<CancelToken>,
    pub job: ClaimedJob,
}

/// State shared by the loops and backends of one worker process.
pub struct Shared {
    pub settings: WorkerSettings,
    /// Unique per process start: `<host>-<pid>-<random>`.
    pub worker_id: Arc<str>,
    pub system_pool: PgPool,
    pub app_pool: PgPool,
    pub held: Arc<Held>,
    pub acker: Acker,
    /// Raised when shutdown starts: stop claiming, stop the loops (not the heartbeat).
    pub stop: watch::Sender<bool>,
    pub scheduler_wake: Notify,
    /// Cancel notifications waiting for the database to confirm them.
    pub cancel_hints: cancel::CancelHints,
}

/// A worker id no other process start shares.
pub fn new_worker_id() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_owned());
    let random = getrandom::u32().unwrap_or_default();
    format!("{host}-{}-{random:08x}", std::process::id())
}

/// The queues to serve: configured ones, else those of the registered kinds plus `default`.
pub fn resolve_queues(settings: &WorkerSettings, registry: &Registry) -> Vec<QueueSettings> {
    if !settings.queues.is_empty() {
        return settings.queues.clone();
    }
    let mut names: Vec<&str> = registry.queues();
    names.push("default");
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| QueueSettings {
            name: name.to_owned(),
            concurrency: jobs::queue_concurrency_cap(name)
                .map_or(settings.default_concurrency, |cap| {
                    cap.min(settings.default_concurrency)
                })
                .max(1),
        })
        .collect()
}

/// Runs a worker process until `shutdown` resolves, then shuts down gracefully: no new
/// claims, running jobs get `shutdown_timeout` to finish, buffered jobs go back unspent.
pub async fn run(
    ctx: WorkerContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> fieldwork_core::Result<()> {
    let WorkerContext {
        app_pool,
        system_pool,
        settings,
        clients,
    } = ctx;
    // Fail fast when the database or the system role is unreachable.
    fieldwork_core::db::begin_system(&system_pool)
        .await?
        .rollback()
        .await?;
    let registry = Arc::new(jobs::registry(&settings, &clients));
    let schedules =
        jobs::schedules(&settings, &clients).map_err(fieldwork_core::Error::Internal)?;
    let queues = resolve_queues(&settings, &registry);
    let worker_id: Arc<str> = Arc::from(new_worker_id());
    fieldwork_core::metrics_export::install();
    jobs::describe_metrics();
    let held = Arc::new(Held::new(
        queues
            .iter()
            .map(|q| QueueSlot::new(&q.name, q.concurrency, settings.buffer_for(q)))
            .collect(),
    ));
    let (acker, acker_task) = Acker::spawn(
        system_pool.clone(),
        worker_id.clone(),
        held.clone(),
        settings.ack_batch,
    );
    let (stop, _) = watch::channel(false);
    let shared = Arc::new(Shared {
        settings: settings.clone(),
        worker_id: worker_id.clone(),
        system_pool: system_pool.clone(),
        app_pool: app_pool.clone(),
        held: held.clone(),
        acker: acker.clone(),
        stop,
        scheduler_wake: Notify::new(),
        cancel_hints: cancel::CancelHints::default(),
    });
    tracing::info!(
        worker = %worker_id,
        queues = ?queues.iter().map(|q| format!("{}={}", q.name, q.concurrency)).collect::<Vec<_>>(),
        kinds = ?registry.kinds(),
        poll_only = settings.poll_only,
        lease_secs = settings.lease.as_secs_f64(),
        "fieldwork-worker starting"
    );

    let (done_tx, done_rx) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(maintenance::heartbeat_loop(
        shared.clone(),
        done_rx,
    ))];
    if !settings.poll_only {
        tasks.push(tokio::spawn(listener::run(shared.clone())));
        tasks.push(tokio::spawn(cancel::check_loop(shared.clone())));
    }
    tasks.push(tokio::spawn(maintenance::scheduler_loop(shared.clone())));
    tasks.push(tokio::spawn(maintenance::rescue_loop(shared.clone())));
    tasks.push(tokio::spawn(maintenance::prune_loop(shared.clone())));
    tasks.push(tokio::spawn(cron::cron_loop(shared.clone(), schedules)));
    tasks.push(tokio::spawn(stats_sampler::sample_loop(shared.clone())));
    if let Some(addr) = settings.metrics_addr {
        tasks.push(tokio::spawn(metrics_http::serve(shared.clone(), addr)));
    }

    let mut monitor = Monitor::new();
    for (index, queue) in queues.iter().enumerate() {
        let shared = shared.clone();
        let dispatcher = Dispatcher::new(
            registry.clone(),
            worker_id.clone(),
            app_pool.clone(),
            system_pool.clone(),
        );
        let concurrency = queue.concurrency;
        let name = format!("{worker_id}/{}", queue.name);
        monitor = monitor.register(move |_| {
            WorkerBuilder::new(name.as_str())
                .backend(PgQueueBackend::new(shared.clone(), index))
                .concurrency(concurrency)
                .parallelize(tokio::spawn)
                .build(dispatcher.clone())
        });
    }
    let signal_shared = shared.clone();
    let result = monitor
        .should_restart(|_, e| {
            tracing::error!(error = %e, "queue worker failed; restarting it");
            true
        })
        .shutdown_timeout(settings.shutdown_timeout)
        .run_with_signal(async move {
            shutdown.await;
            tracing::info!("shutting down: no new claims, letting running jobs finish");
            let _ = signal_shared.stop.send(true);
            Ok(())
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "worker monitor ended with an error");
    }
    let _ = shared.stop.send(true);
    // Write every acknowledgement first: only jobs that truly did not finish are left.
    acker.close();
    let _ = acker_task.await;
    finish_leftovers(&shared).await;
    let _ = done_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    app_pool.close().await;
    system_pool.close().await;
    tracing::info!(worker = %worker_id, "fieldwork-worker stopped");
    Ok(())
}

/// After the workers stopped: buffered jobs go back with their attempt restored; jobs still
/// running (the shutdown timeout expired) become retryable now instead of waiting for their
/// lease to expire.
async fn finish_leftovers(shared: &Shared) {
    release_buffered(shared, shared.held.take_buffered()).await;
    let running = shared.held.running();
    if running.is_empty() {
        return;
    }
    tracing::warn!(
        jobs = running.len(),
        "shutdown timeout: jobs still running are handed back"
    );
    let failures: Vec<Failure> = running
        .iter()
        .map(|(id, attempt)| Failure {
            id: *id,
            attempt: *attempt,
            resolution: Resolution::Retry {
                at: Utc::now(),
                error: ErrorEntry::new(
                    *attempt,
                    "shutdown",
                    "the worker shut down before the job finished",
                ),
            },
        })
        .collect();
    if let Err(e) = fail_many(&shared.system_pool, &shared.worker_id, &failures).await {
        tracing::warn!(error = %e, "handing back running jobs failed; their leases will expire");
    }
    shared.held.remove(running.into_iter().map(|(id, _)| id));
}
