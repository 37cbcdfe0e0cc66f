//! The bench's job kind: `bench.noop` does nothing but (optionally) note how long it waited
//! between enqueue and start. Part of every build, because `fieldwork-worker bench` is an
//! operator command; registered only with `--test-kinds` (the bench sets it).

use std::sync::Mutex;
use std::time::Duration;

use chrono::Utc;
use fieldwork_core::queue::Job;
use serde::{Deserialize, Serialize};

use crate::handler::{JobContext, JobResult};
use crate::registry::Registry;

/// Does nothing (bench). When latency recording is on, notes enqueue→start time.
#[derive(Debug, Serialize, Deserialize)]
pub struct NoopJob {}

impl Job for NoopJob {
    const KIND: &'static str = "bench.noop";
    const QUEUE: &'static str = "bench";
}

/// Enqueue→start latencies recorded by `bench.noop` while [`record_latencies`] is on.
pub static LATENCIES: Mutex<Option<Vec<Duration>>> = Mutex::new(None);

/// Starts (`true`) or stops recording latencies.
pub fn record_latencies(on: bool) {
    let mut l = LATENCIES.lock().unwrap_or_else(|p| p.into_inner());
    *l = if on { Some(Vec::new()) } else { None };
}

async fn run_noop(_: NoopJob, ctx: JobContext) -> JobResult {
    let mut l = LATENCIES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(v) = l.as_mut() {
        v.push((Utc::now() - ctx.created_at()).to_std().unwrap_or_default());
    }
    Ok(())
}

/// Registers the bench kinds.
pub fn register(registry: &mut Registry) {
    registry.register(run_noop);
}
