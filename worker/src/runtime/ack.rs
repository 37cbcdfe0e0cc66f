//! Acknowledgements: the apalis layer that turns each finished run into an [`Outcome`], and
//! the acker task that writes outcomes to Postgres in batches — whatever accumulated while
//! the previous statement ran goes in the next one (group commit). Only finished runs are
//! ever sent here, so a job is never acknowledged before its handler returned.

use std::collections::HashMap;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use apalis_core::error::{AbortError, BoxDynError, RetryAfterError};
use apalis_core::task::Task;
use fieldwork_core::queue::{
    ErrorEntry, Failure, JobId, JobState, Resolution, acknowledge, metrics,
};
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tokio::sync::mpsc;
use tower::{Layer, Service};

use super::JobRun;
use super::held::Held;

/// How a run ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Completed,
    /// The handler completed the job in its own transaction: nothing left to write.
    CompletedInTx,
    Failed(Resolution),
}

/// One finished run on its way to the database.
pub struct AckMsg {
    pub id: JobId,
    pub attempt: i32,
    pub queue: Arc<str>,
    pub kind: String,
    pub outcome: Outcome,
}

enum Msg {
    Ack(AckMsg),
    Close,
}

/// Sends finished runs to the acker.
#[derive(Clone)]
pub struct Acker {
    tx: mpsc::UnboundedSender<Msg>,
}

impl Acker {
    /// Starts the acker task; it runs until [`Acker::close`] after draining what was sent.
    pub fn spawn(
        pool: PgPool,
        worker: Arc<str>,
        held: Arc<Held>,
        batch: usize,
    ) -> (Acker, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(run(pool, worker, held, rx, batch.max(1)));
        (Acker { tx }, handle)
    }

    pub fn send(&self, msg: AckMsg) {
        if self.tx.send(Msg::Ack(msg)).is_err() {
            tracing::warn!("acknowledgement after the acker stopped; the lease will expire");
        }
    }

    /// Asks the acker to stop once everything sent before has been written.
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Close);
    }
}

/// Statements in flight at once: while one batch is being written the next can go, so a
/// round trip never idles the pipeline.
const FLUSHES_IN_FLIGHT: usize = 2;

async fn run(
    pool: PgPool,
    worker: Arc<str>,
    held: Arc<Held>,
    mut rx: mpsc::UnboundedReceiver<Msg>,
    batch: usize,
) {
    let mut flushes = tokio::task::JoinSet::new();
    let mut closing = false;
    while !closing {
        // Wait for a free slot before collecting: acks pile up meanwhile and go together.
        while flushes.len() >= FLUSHES_IN_FLIGHT {
            let _ = flushes.join_next().await;
        }
        let Some(first) = rx.recv().await else { break };
        let mut acks = Vec::new();
        match first {
            Msg::Ack(a) => acks.push(a),
            Msg::Close => closing = true,
        }
        while !closing && acks.len() < batch {
            match rx.try_recv() {
                Ok(Msg::Ack(a)) => acks.push(a),
                Ok(Msg::Close) => closing = true,
                Err(_) => break,
            }
        }
        if !acks.is_empty() {
            let (pool, worker, held) = (pool.clone(), worker.clone(), held.clone());
            flushes.spawn(async move { flush(&pool, &worker, &held, acks).await });
        }
    }
    while flushes.join_next().await.is_some() {}
}

/// Writes one batch, retrying until the database takes it: dropping acknowledgements would
/// make finished jobs run again.
async fn flush(pool: &PgPool, worker: &str, held: &Held, acks: Vec<AckMsg>) {
    let completes: Vec<(JobId, i32)> = acks
        .iter()
        .filter(|a| matches!(a.outcome, Outcome::Completed))
        .map(|a| (a.id, a.attempt))
        .collect();
    let failures: Vec<Failure> = acks
        .iter()
        .filter_map(|a| match &a.outcome {
            Outcome::Failed(r) => Some(Failure {
                id: a.id,
                attempt: a.attempt,
                resolution: r.clone(),
            }),
            _ => None,
        })
        .collect();
    let mut delay = Duration::from_millis(50);
    let (done, finished) = loop {
        // One fieldwork_system transaction for both statements.
        match acknowledge(pool, worker, &completes, &failures).await {
            Ok(r) => break r,
            Err(e) => {
                tracing::warn!(error = %e, jobs = acks.len(), "acknowledging failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    };
    let done: std::collections::HashSet<JobId> = done.into_iter().collect();
    let states: HashMap<JobId, JobState> = finished.into_iter().map(|f| (f.id, f.state)).collect();
    let mut lost = 0u64;
    for a in &acks {
        match &a.outcome {
            Outcome::Completed if done.contains(&a.id) => metrics::completed(&a.queue, &a.kind),
            Outcome::CompletedInTx => metrics::completed(&a.queue, &a.kind),
            Outcome::Failed(_) if states.contains_key(&a.id) => match states[&a.id] {
                JobState::Discarded => {
                    metrics::failed(&a.queue, &a.kind);
                    metrics::discarded(&a.queue, &a.kind);
                }
                JobState::Cancelled => metrics::cancelled(&a.queue, &a.kind),
                JobState::Scheduled => metrics::snoozed(&a.queue, &a.kind),
                JobState::Retryable => {
                    metrics::failed(&a.queue, &a.kind);
                    metrics::retried(&a.queue, &a.kind);
                }
                _ => metrics::failed(&a.queue, &a.kind),
            },
            _ => {
                lost += 1;
                tracing::warn!(job = %a.id, attempt = a.attempt, "run finished after this worker lost the job (lease rescued or cancelled); result not recorded");
            }
        }
    }
    if lost > 0 {
        metrics::leases_lost(lost);
    }
    held.remove(acks.iter().map(|a| a.id));
}

/// The apalis layer (the backend's middleware) that acknowledges every run.
#[derive(Clone)]
pub struct AckLayer {
    acker: Acker,
}

impl AckLayer {
    pub fn new(acker: Acker) -> Self {
        Self { acker }
    }
}

impl<S> Layer<S> for AckLayer {
    type Service = AckService<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AckService {
            inner,
            acker: self.acker.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AckService<S> {
    inner: S,
    acker: Acker,
}

impl<S> Service<Task<JobRun>> for AckService<S>
where
    S: Service<Task<JobRun>, Response = Outcome>,
    S::Error: Into<BoxDynError>,
    S::Future: Send + 'static,
{
    type Response = ();
    type Error = BoxDynError;
    type Future = BoxFuture<'static, Result<(), BoxDynError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, task: Task<JobRun>) -> Self::Future {
        let job = &task.args.job;
        let (id, attempt, kind) = (job.id, job.attempt, job.kind.clone());
        let queue = task.args.queue.clone();
        let acker = self.acker.clone();
        let started = Instant::now();
        let fut = self.inner.call(task);
        Box::pin(async move {
            let outcome = match fut.await {
                Ok(outcome) => outcome,
                Err(e) => outcome_of_layer_error(e.into(), attempt),
            };
            metrics::run_time(&queue, &kind, started.elapsed());
            acker.send(AckMsg {
                id,
                attempt,
                queue,
                kind,
                outcome,
            });
            Ok(())
        })
    }
}

/// An error raised by a layer around the handler (not by the handler itself).
fn outcome_of_layer_error(e: BoxDynError, attempt: i32) -> Outcome {
    if let Some(r) = e.downcast_ref::<RetryAfterError>() {
        let at = fieldwork_core::queue::backoff::after(r.get_duration());
        return Outcome::Failed(Resolution::Retry {
            at,
            error: ErrorEntry::new(attempt, "retry_after", e.to_string()),
        });
    }
    if e.downcast_ref::<AbortError>().is_some() {
        return Outcome::Failed(Resolution::Discard {
            error: ErrorEntry::new(attempt, "abort", e.to_string()),
        });
    }
    let delay = fieldwork_core::queue::backoff::exponential(
        attempt,
        Duration::from_secs(1),
        Duration::from_secs(3600),
    );
    Outcome::Failed(Resolution::Retry {
        at: fieldwork_core::queue::backoff::after(delay),
        error: ErrorEntry::new(attempt, "error", e.to_string()),
    })
}
