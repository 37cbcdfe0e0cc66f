//! What this worker runs, as two explicit lists: [`registry`] maps each job kind to its
//! handler, decoder and backoff (a kind missing here is discarded with a clear error when a
//! worker meets it); [`schedules`] declares the cron schedules (each tick fires exactly once
//! across the fleet, see `runtime::cron`).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::queue::{Job, JobOptions, NewJob};
use futures_util::future::BoxFuture;

use crate::handler::{JobContext, JobError, JobResult};
use crate::runtime::cron::CronSchedule;
use crate::settings::WorkerSettings;

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

/// Every job kind this worker runs. Add new kinds here.
pub fn registry(settings: &WorkerSettings) -> Registry {
    let mut registry = Registry::default();
    // Domain kinds (messages, extraction, audit fan-out) register here as they arrive.
    crate::jobs::prune_sessions::register(&mut registry);
    if settings.test_kinds {
        crate::test_kinds::register(&mut registry);
    }
    registry
}

/// Every cron schedule this worker fires. Add new schedules here.
pub fn schedules(settings: &WorkerSettings) -> Result<Vec<CronSchedule>, String> {
    let mut list = Vec::new();
    // Domain schedules (reminder scans, digest mails) are added here as they arrive. Workers
    // with the test kinds fire none of them: a wall-clock tick would add jobs tests do not expect
    // (tests enqueue those kinds themselves).
    if !settings.test_kinds {
        list.push(crate::jobs::prune_sessions::schedule()?);
    }
    if let (true, Some(expr)) = (settings.test_kinds, settings.test_cron.as_deref()) {
        list.push(CronSchedule::new("test.cron", expr, |tick| {
            let job = crate::test_kinds::RecordJob {
                label: Some(format!("cron:{}", tick.to_rfc3339())),
                sleep_ms: 0,
                complete_in_tx: false,
            };
            NewJob::new(&job, JobOptions::default())
        })?);
    }
    Ok(list)
}
