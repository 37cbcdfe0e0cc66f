//! The apalis service at the bottom of every queue's stack: finds the kind's handler, decodes
//! the payload, runs the handler with panics caught, and turns the result into an
//! [`Outcome`]. An unknown kind or an undecodable payload discards that one job.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use apalis_core::task::Task;
use chrono::Utc;
use fieldwork_core::queue::{ErrorEntry, Resolution};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use sqlx::PgPool;
use tower::Service;

use super::JobRun;
use super::ack::Outcome;
use crate::handler::{JobContext, JobErrorKind};
use crate::registry::Registry;

/// Runs jobs through the registry.
#[derive(Clone)]
pub struct Dispatcher {
    registry: Arc<Registry>,
    worker_id: Arc<str>,
    app_pool: PgPool,
    system_pool: PgPool,
}

impl Dispatcher {
    pub fn new(
        registry: Arc<Registry>,
        worker_id: Arc<str>,
        app_pool: PgPool,
        system_pool: PgPool,
    ) -> Self {
        Self {
            registry,
            worker_id,
            app_pool,
            system_pool,
        }
    }
}

/// When a delayed run is due: clamped to `backoff::MAX_DELAY`, so a handler's huge snooze or
/// retry-after never panics the worker.
fn after(delay: Duration) -> chrono::DateTime<Utc> {
    fieldwork_core::queue::backoff::after(delay)
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

impl Service<Task<JobRun>> for Dispatcher {
    type Response = Outcome;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Outcome, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, task: Task<JobRun>) -> Self::Future {
        let (run, exec) = task.take();
        let attempt = run.job.attempt;
        let Some(handler) = self.registry.get(&run.job.kind).cloned() else {
            let msg = format!(
                "unknown job kind {:?}: no handler is registered for it in this worker",
                run.job.kind
            );
            tracing::error!(job = %run.job.id, kind = %run.job.kind, "{msg}; discarding");
            return Box::pin(async move {
                Ok(Outcome::Failed(Resolution::Discard {
                    error: ErrorEntry::new(attempt, "unknown_kind", msg),
                }))
            });
        };
        let mut job = run.job;
        // The payload is decoded once, straight into the handler's type; the context keeps
        // the rest of the row.
        let args = std::mem::take(&mut job.args);
        let ctx = JobContext::new(
            job,
            self.worker_id.clone(),
            self.app_pool.clone(),
            self.system_pool.clone(),
            run.cancel,
            exec,
        );
        let fut = handler.run(&args, ctx.clone());
        Box::pin(async move {
            let result =
                match tokio::time::timeout(handler.timeout, AssertUnwindSafe(fut).catch_unwind())
                    .await
                {
                    Ok(result) => result,
                    Err(_) => {
                        let msg = format!("handler timed out after {:?}", handler.timeout);
                        tracing::error!(job = %ctx.id(), kind = ctx.kind(), attempt, "{msg}");
                        return Ok(Outcome::Failed(Resolution::Retry {
                            at: after(handler.backoff(attempt)),
                            error: ErrorEntry::new(attempt, "timeout", msg),
                        }));
                    }
                };
            let outcome = match result {
                Ok(Ok(())) if ctx.completed_in_tx() => Outcome::CompletedInTx,
                Ok(Ok(())) => Outcome::Completed,
                Ok(Err(e)) => {
                    let resolution = match e.kind {
                        JobErrorKind::Failed => Resolution::Retry {
                            at: after(handler.backoff(attempt)),
                            error: ErrorEntry::new(attempt, "error", e.message),
                        },
                        JobErrorKind::RetryAfter(d) => Resolution::Retry {
                            at: after(d),
                            error: ErrorEntry::new(attempt, "retry_after", e.message),
                        },
                        JobErrorKind::Snooze(d) => Resolution::Snooze { at: after(d) },
                        JobErrorKind::Discard => Resolution::Discard {
                            error: ErrorEntry::new(attempt, "discard", e.message),
                        },
                        JobErrorKind::Cancel => Resolution::Cancel {
                            error: ErrorEntry::new(attempt, "cancel", e.message),
                        },
                        JobErrorKind::Decode => {
                            tracing::error!(job = %ctx.id(), kind = ctx.kind(), error = %e.message, "undecodable payload; discarding");
                            Resolution::Discard {
                                error: ErrorEntry::new(attempt, "decode", e.message),
                            }
                        }
                    };
                    if !matches!(resolution, Resolution::Snooze { .. }) {
                        tracing::warn!(job = %ctx.id(), kind = ctx.kind(), attempt, "job failed");
                    }
                    Outcome::Failed(resolution)
                }
                Err(panic) => {
                    let msg = format!("handler panicked: {}", panic_message(panic.as_ref()));
                    tracing::error!(job = %ctx.id(), kind = ctx.kind(), attempt, "{msg}");
                    Outcome::Failed(Resolution::Retry {
                        at: after(handler.backoff(attempt)),
                        error: ErrorEntry::new(attempt, "panic", msg),
                    })
                }
            };
            Ok(outcome)
        })
    }
}
