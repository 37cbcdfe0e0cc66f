//! The kind → handler map: [`Registry`] decodes a payload into the kind's type and runs its
//! handler with the kind's backoff and timeout. The list of kinds itself is in
//! `crate::jobs`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::queue::Job;
use futures_util::future::BoxFuture;

use crate::handler::{JobContext, JobError, JobResult};

type RunFn = dyn Fn(&str, JobContext) -> BoxFuture<'static, JobResult> + Send + Sync;

/// One registered kind.
#[derive(Clone)]
pub struct Handler {
    pub kind: &'static str,
    pub queue: &'static str,
    run: Arc<RunFn>,
    backoff: fn(i32) -> Duration,
    /// Longest a run may take (`Job::TIMEOUT`).
    pub timeout: Duration,
}

impl Handler {
    /// Decodes `args` into the kind's type and runs the handler. An undecodable payload is
    /// a [`JobError`] that discards the job.
    pub fn run(&self, args: &str, ctx: JobContext) -> BoxFuture<'static, JobResult> {
        (self.run)(args, ctx)
    }

    /// Delay before the next attempt after `attempt` failed.
    pub fn backoff(&self, attempt: i32) -> Duration {
        (self.backoff)(attempt)
    }
}

/// Kind → handler.
#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<&'static str, Handler>,
}

impl Registry {
    /// Registers `handler` for `J::KIND`. Registering a kind twice is a programming error
    /// caught at start-up (the later registration is refused).
    pub fn register<J, F, Fut>(&mut self, handler: F) -> &mut Self
    where
        J: Job,
        F: Fn(J, JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = JobResult> + Send + 'static,
    {
        let handler = Arc::new(handler);
        let run: Arc<RunFn> = Arc::new(
            move |args: &str, ctx: JobContext| match serde_json::from_str::<J>(args) {
                Ok(job) => Box::pin(handler(job, ctx)),
                Err(e) => {
                    let msg = format!("cannot decode {} payload: {e}", J::KIND);
                    Box::pin(async move { Err(JobError::decode(msg)) })
                }
            },
        );
        if self.handlers.contains_key(J::KIND) {
            tracing::error!(
                kind = J::KIND,
                "job kind registered twice; keeping the first"
            );
            return self;
        }
        self.handlers.insert(
            J::KIND,
            Handler {
                kind: J::KIND,
                queue: J::QUEUE,
                run,
                backoff: J::backoff,
                timeout: J::TIMEOUT,
            },
        );
        self
    }

    pub fn get(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }

    /// The queues the registered kinds go to by default.
    pub fn queues(&self) -> Vec<&'static str> {
        let mut q: Vec<&'static str> = self.handlers.values().map(|h| h.queue).collect();
        q.sort_unstable();
        q.dedup();
        q
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<&'static str> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }
}
