//! What a job is: the typed [`Job`] trait (stable kind, queue, priority, attempts, backoff),
//! per-insert [`JobOptions`], and the untyped [`NewJob`] row an insert writes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use super::backoff;
use crate::error::{Error, Result};

/// A job: a serializable payload with a stable `KIND` that names its handler in the worker.
///
/// The kind is stored in every row, so renaming it orphans queued jobs: treat it like a
/// public API name. Everything else has defaults a kind may override.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Stable name, e.g. `"message.send"`; the worker's registry maps it to a handler.
    const KIND: &'static str;
    /// Queue the job goes to unless [`JobOptions::queue`] says otherwise.
    const QUEUE: &'static str = "default";
    /// 0 (first) to 9 (last).
    const PRIORITY: i16 = 1;
    /// Attempts before the job is `discarded`.
    const MAX_ATTEMPTS: i32 = 25;
    /// Longest a run may take. A run that takes longer is abandoned and counts as a failed
    /// attempt (retried with backoff): a hung handler would otherwise keep renewing its lease
    /// for as long as its worker lives.
    const TIMEOUT: Duration = Duration::from_secs(5 * 60);

    /// Delay before retry number `attempt + 1` after attempt `attempt` failed.
    /// Default: exponential from 1 s, doubling, capped at 1 h, ±20 % jitter.
    fn backoff(attempt: i32) -> Duration {
        backoff::exponential(attempt, Duration::from_secs(1), Duration::from_secs(3600))
    }
}

/// Per-insert options; `None` keeps the kind's default.
#[derive(Debug, Clone, Default)]
pub struct JobOptions {
    /// Run no earlier than this (the job is `scheduled` until then).
    pub run_at: Option<DateTime<Utc>>,
    pub priority: Option<i16>,
    pub max_attempts: Option<i32>,
    pub queue: Option<String>,
    /// Dedupe key, scoped to the tenant: while a not-yet-finalized job with this key exists,
    /// inserting another returns the existing one instead.
    pub unique_key: Option<String>,
}

impl JobOptions {
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn run_in(self, delay: Duration) -> Self {
        self.run_at(super::backoff::after(delay))
    }

    pub fn priority(mut self, priority: i16) -> Self {
        self.priority = Some(priority);
        self
    }

    pub fn max_attempts(mut self, max_attempts: i32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = Some(queue.into());
        self
    }

    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }
}

/// One row to insert: a job already serialized, with every option resolved.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub queue: String,
    pub args: Box<RawValue>,
    pub priority: i16,
    pub max_attempts: i32,
    pub run_at: Option<DateTime<Utc>>,
    pub unique_key: Option<String>,
}

/// Largest accepted serialized payload: jobs carry ids and small values, not documents.
pub const MAX_ARGS_BYTES: usize = 256 * 1024;

impl NewJob {
    /// Serializes a typed job with its kind's defaults overridden by `options`.
    pub fn new<J: Job>(job: &J, options: JobOptions) -> Result<NewJob> {
        let args = serde_json::value::to_raw_value(job)
            .map_err(|e| Error::Internal(format!("cannot serialize job {}: {e}", J::KIND)))?;
        Self::raw(
            J::KIND,
            args,
            J::QUEUE,
            J::PRIORITY,
            J::MAX_ATTEMPTS,
            options,
        )
    }

    /// An untyped job (operators, tests, cron): `args` must be a JSON value.
    pub fn raw(
        kind: &str,
        args: Box<RawValue>,
        default_queue: &str,
        default_priority: i16,
        default_max_attempts: i32,
        options: JobOptions,
    ) -> Result<NewJob> {
        let job = NewJob {
            kind: kind.to_owned(),
            queue: options.queue.unwrap_or_else(|| default_queue.to_owned()),
            args,
            priority: options.priority.unwrap_or(default_priority),
            max_attempts: options.max_attempts.unwrap_or(default_max_attempts),
            run_at: options.run_at,
            unique_key: options.unique_key,
        };
        job.validate()?;
        Ok(job)
    }

    fn validate(&self) -> Result<()> {
        if !valid_queue_name(&self.queue) {
            return Err(Error::field(
                "queue",
                "must be 1 to 64 characters of a-z, 0-9, _ . -",
            ));
        }
        if self.kind.is_empty() || self.kind.len() > 128 {
            return Err(Error::field("kind", "must be 1 to 128 characters"));
        }
        if !(0..=9).contains(&self.priority) {
            return Err(Error::field("priority", "must be between 0 and 9"));
        }
        if self.max_attempts < 1 {
            return Err(Error::field("max_attempts", "must be at least 1"));
        }
        if self.args.get().len() > MAX_ARGS_BYTES {
            return Err(Error::field(
                "args",
                "serialized job is larger than 256 KiB",
            ));
        }
        if self
            .unique_key
            .as_ref()
            .is_some_and(|k| k.is_empty() || k.len() > 512)
        {
            return Err(Error::field("unique_key", "must be 1 to 512 characters"));
        }
        Ok(())
    }

    /// Whether the job waits for a later time instead of being available right away.
    pub fn is_scheduled(&self, now: DateTime<Utc>) -> bool {
        self.run_at.is_some_and(|at| at > now)
    }
}

/// Queue names: 1 to 64 of `a-z 0-9 _ . -` (the table checks the same).
pub fn valid_queue_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}
