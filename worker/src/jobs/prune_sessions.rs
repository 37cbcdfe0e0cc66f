//! `sessions.prune`: a system cron job (hourly) that deletes expired login sessions of every
//! tenant, in bounded batches, through `auth_prune_expired_sessions` — the one function the
//! system role may call on sessions (it can read none of them).

use std::time::Duration;

use fieldwork_core::queue::{Job, JobOptions, NewJob};
use serde::{Deserialize, Serialize};

use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;
use crate::runtime::cron::CronSchedule;

/// The cron schedule's name (also the job's unique key prefix, `cron:<name>:<tick>`).
pub const SCHEDULE_NAME: &str = "sessions.prune";
/// Every hour at minute 17 (UTC; seconds first).
pub const SCHEDULE: &str = "0 17 * * * *";
/// Sessions deleted per statement and most statements per run: a run stays short, a backlog
/// drains over a few runs.
const BATCH: i32 = 1000;
const MAX_BATCHES: usize = 100;

/// Deletes expired sessions. No arguments: there is nothing a caller could choose.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneSessionsJob {}

impl Job for PruneSessionsJob {
    const KIND: &'static str = "sessions.prune";
    const MAX_ATTEMPTS: i32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(120);
}

/// Registers the handler.
pub fn register(registry: &mut Registry) {
    registry.register(run);
}

/// The hourly schedule.
pub fn schedule() -> Result<CronSchedule, String> {
    CronSchedule::new(SCHEDULE_NAME, SCHEDULE, |_tick| {
        NewJob::new(&PruneSessionsJob::default(), JobOptions::default())
    })
}

async fn run(_: PruneSessionsJob, ctx: JobContext) -> JobResult {
    // A tenant may enqueue any kind in its own name; this one is meaningful only as a system
    // job (and its function is executable only by fieldwork_system anyway).
    if ctx.user_id().is_some() {
        return Err(JobError::discard(
            "sessions.prune is a system job; a tenant's copy does nothing",
        ));
    }
    let mut total = 0u64;
    for _ in 0..MAX_BATCHES {
        if ctx.is_cancelled() {
            break;
        }
        let mut tx = ctx.begin().await?;
        let deleted = fieldwork_core::auth::prune_expired_sessions(&mut tx, BATCH).await?;
        tx.commit().await?;
        total += deleted;
        if deleted < u64::from(BATCH.unsigned_abs()) {
            break;
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, "pruned expired sessions");
    }
    Ok(())
}
