//! The apalis [`Backend`] over our queue storage, one per queue: a fetcher task claims
//! batches into a local buffer as capacity frees up (woken by NOTIFY, promotion, freed
//! capacity or the poll timer); the worker takes jobs from the buffer only when a
//! concurrency slot is free; on close, jobs that never started are handed back.

use std::sync::Arc;
use std::task::{Context, Poll};

use apalis_core::backend::finalize::Ephemeral;
use apalis_core::backend::queue::Queue;
use apalis_core::backend::{Backend, BackendConfig};
use apalis_core::task::Task;
use apalis_core::task::builder::TaskBuilder;
use apalis_core::task::task_id::TaskId;
use apalis_core::worker::context::WorkerContext;
use fieldwork_core::queue::{ClaimedJob, claim, release};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

use super::ack::AckLayer;
use super::{JobRun, Shared};

/// Errors the backend reports to apalis: none today, database trouble is retried inside.
#[derive(Debug)]
pub enum BackendError {}

impl std::fmt::Display for BackendError {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {}
    }
}

impl std::error::Error for BackendError {}

/// One queue's source of jobs.
pub struct PgQueueBackend {
    shared: Arc<Shared>,
    queue: usize,
    rx: Option<mpsc::UnboundedReceiver<ClaimedJob>>,
    fetcher: Option<tokio::task::JoinHandle<()>>,
    closing: Option<BoxFuture<'static, ()>>,
}

impl PgQueueBackend {
    pub fn new(shared: Arc<Shared>, queue: usize) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let fetcher = tokio::spawn(fetch_loop(shared.clone(), queue, tx));
        Self {
            shared,
            queue,
            rx: Some(rx),
            fetcher: Some(fetcher),
            closing: None,
        }
    }
}

/// Claims jobs while this queue has free capacity; sleeps until woken otherwise.
async fn fetch_loop(shared: Arc<Shared>, queue: usize, tx: mpsc::UnboundedSender<ClaimedJob>) {
    let slot = &shared.held.queues[queue];
    let settings = &shared.settings;
    let mut stop = shared.stop.subscribe();
    let mut error_delay = std::time::Duration::from_millis(100);
    // Claim again without waiting when capacity at least this large frees up.
    let refill = (slot.capacity / 4).clamp(1, settings.fetch_batch.max(1));
    loop {
        if *stop.borrow() {
            return;
        }
        let free = slot.free();
        if free == 0 || (free < refill && slot.held() > slot.concurrency) {
            tokio::select! {
                () = slot.freed.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let want = free.min(settings.fetch_batch.max(1));
        match claim(
            &shared.system_pool,
            &slot.name,
            want,
            &shared.worker_id,
            settings.lease,
        )
        .await
        {
            Ok(jobs) => {
                error_delay = std::time::Duration::from_millis(100);
                let full = jobs.len() == want;
                shared.held.claimed(queue, &jobs);
                for job in jobs {
                    // The receiver lives as long as the backend; if it is gone the worker is
                    // closing and the job is released with the rest of the buffer.
                    let _ = tx.send(job);
                }
                if full {
                    continue;
                }
            }
            Err(e) => {
                tracing::warn!(queue = %slot.name, error = %e, "claiming jobs failed");
                tokio::select! {
                    () = tokio::time::sleep(error_delay) => {}
                    _ = stop.changed() => {}
                }
                error_delay = (error_delay * 2).min(std::time::Duration::from_secs(5));
                continue;
            }
        }
        // The queue looked empty: wait for a notification, the poll timer or shutdown.
        tokio::select! {
            () = slot.wake.notified() => {}
            () = tokio::time::sleep(settings.poll_interval) => {}
            _ = stop.changed() => {}
        }
    }
}

impl Backend for PgQueueBackend {
    type Task = Task<JobRun>;
    type Error = BackendError;

    fn poll_ready(
        &mut self,
        _: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Option<Result<Self::Task, Self::Error>>> {
        let Some(rx) = self.rx.as_mut() else {
            return Poll::Pending;
        };
        loop {
            match rx.poll_recv(cx) {
                Poll::Ready(Some(job)) => {
                    let Some(cancel) = self.shared.held.start(job.id) else {
                        // Its lease was lost while it waited here: another worker has it.
                        self.shared.held.remove([job.id]);
                        continue;
                    };
                    let slot = &self.shared.held.queues[self.queue];
                    let task = TaskBuilder::new(JobRun {
                        queue: slot.name.clone(),
                        cancel,
                        job: job.clone(),
                    })
                    .task_id(TaskId::Int(u64::try_from(job.id.0).unwrap_or_default()))
                    // apalis counts the attempt up as the run starts; the claim already did.
                    .attempt(usize::try_from(job.attempt.saturating_sub(1)).unwrap_or_default())
                    .max_attempts(usize::try_from(job.max_attempts).unwrap_or(1))
                    .priority(usize::try_from(job.priority).unwrap_or_default())
                    .queue(Queue::from(slot.name.as_ref()))
                    .build();
                    return Poll::Ready(Some(Ok(task)));
                }
                // The fetcher stopped (shutdown): nothing more will come.
                Poll::Ready(None) | Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn poll_close(
        &mut self,
        cx: &mut Context<'_>,
        _: &WorkerContext,
    ) -> Poll<Result<(), Self::Error>> {
        if self.closing.is_none() {
            let shared = self.shared.clone();
            let fetcher = self.fetcher.take();
            let rx = self.rx.take();
            self.closing = Some(
                async move {
                    let _ = shared.stop.send(true);
                    if let Some(f) = fetcher {
                        let _ = f.await;
                    }
                    let mut buffered = Vec::new();
                    if let Some(mut rx) = rx {
                        while let Ok(job) = rx.try_recv() {
                            buffered.push((job.id, job.attempt));
                        }
                    }
                    release_buffered(&shared, buffered).await;
                }
                .boxed(),
            );
        }
        match self.closing.as_mut().map(|f| f.poll_unpin(cx)) {
            Some(Poll::Pending) => Poll::Pending,
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// Hands never-started jobs back (attempt restored) and forgets them.
pub async fn release_buffered(shared: &Shared, jobs: Vec<(fieldwork_core::queue::JobId, i32)>) {
    if jobs.is_empty() {
        return;
    }
    for delay_ms in [0u64, 100, 500, 2000] {
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        match release(&shared.system_pool, &shared.worker_id, &jobs).await {
            Ok(n) => {
                tracing::info!(released = n, "returned buffered jobs that never started");
                break;
            }
            Err(e) => tracing::warn!(error = %e, "returning buffered jobs failed"),
        }
    }
    shared.held.remove(jobs.into_iter().map(|(id, _)| id));
}

impl Drop for PgQueueBackend {
    /// A backend dropped without closing (its apalis worker failed and is being restarted):
    /// stop its fetcher and hand back what it buffered, or those jobs would stay leased to
    /// this process — renewed by every heartbeat — without ever running.
    fn drop(&mut self) {
        if let Some(f) = self.fetcher.take() {
            f.abort();
        }
        let Some(mut rx) = self.rx.take() else { return };
        let mut buffered = Vec::new();
        while let Ok(job) = rx.try_recv() {
            buffered.push((job.id, job.attempt));
        }
        if buffered.is_empty() {
            return;
        }
        let shared = self.shared.clone();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { release_buffered(&shared, buffered).await });
        }
    }
}

impl BackendConfig for PgQueueBackend {
    type Args = JobRun;
    type Id = u64;
    type Kind = Ephemeral;
    type Config = ();
    type Layer = AckLayer;

    fn config(&self) -> &Self::Config {
        &()
    }

    fn middleware(&mut self, _: &mut WorkerContext) -> Self::Layer {
        AckLayer::new(self.shared.acker.clone())
    }
}
