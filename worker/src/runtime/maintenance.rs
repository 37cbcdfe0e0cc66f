//! Background loops of a worker process: heartbeat (renew every held lease), scheduler
//! (promote due jobs, sleeping exactly until the next one is due), rescuer (expired leases)
//! and pruner. Every loop is idempotent and safe to run in every process at once; errors
//! are logged and retried, never fatal.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fieldwork_core::queue::lease::{heartbeat, rescue_expired};
use fieldwork_core::queue::schedule::{next_due, promote_due};
use fieldwork_core::queue::{JobId, prune};
use tokio::sync::watch;

use super::Shared;

/// Sleeps `d`, returning `true` early if the stop flag is raised.
async fn sleep_or_stop(stop: &mut watch::Receiver<bool>, d: Duration) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// Renews the lease of every held job (buffered ones too) every third of the lease. Jobs
/// the database no longer gives us are marked lost: they must not start, and their running
/// handlers are told to stop. Runs until `done` flips (after the last acknowledgement).
pub async fn heartbeat_loop(shared: Arc<Shared>, mut done: watch::Receiver<bool>) {
    let interval = shared.settings.heartbeat_interval();
    loop {
        if sleep_or_stop(&mut done, interval).await {
            return;
        }
        let held = shared.held.snapshot();
        if held.is_empty() {
            continue;
        }
        match heartbeat(
            &shared.system_pool,
            &shared.worker_id,
            &held,
            shared.settings.lease,
        )
        .await
        {
            Ok(renewed) => {
                let kept: HashSet<JobId> = renewed.iter().map(|r| r.id).collect();
                let lost: Vec<JobId> = held
                    .iter()
                    .map(|(id, _)| *id)
                    .filter(|id| !kept.contains(id))
                    .collect();
                if !lost.is_empty() {
                    // Some may simply have been acknowledged since the snapshot; marking those
                    // is harmless (they are gone from the map).
                    shared.held.lost(&lost);
                }
                for r in renewed.iter().filter(|r| r.cancel_requested) {
                    shared.held.cancel(r.id);
                }
            }
            Err(e) => tracing::warn!(error = %e, jobs = held.len(), "heartbeat failed"),
        }
    }
}

/// Shortest sleep between two promotions when more jobs are due soon: bounds the promotion
/// statements to 100 a second per worker, adding at most 10 ms to a scheduled job's start.
const MIN_PROMOTION_GAP: Duration = Duration::from_millis(10);

/// Promotes due scheduled/retryable jobs, then sleeps until the next one is due (at least
/// `MIN_PROMOTION_GAP`, at most a poll interval), or until woken by a `:scheduled`
/// notification or a rescue.
pub async fn scheduler_loop(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        let mut wait = shared.settings.poll_interval;
        let result = async {
            loop {
                let promoted = promote_due(&shared.system_pool, 1000).await?;
                let total: i64 = promoted.iter().map(|(_, n)| n).sum();
                for (queue, _) in &promoted {
                    if let Some(q) = shared.held.queue_index(queue) {
                        shared.held.queues[q].wake.notify_one();
                    }
                }
                if total < 1000 {
                    break;
                }
            }
            next_due(&shared.system_pool).await
        }
        .await;
        match result {
            Ok(Some(at)) => {
                let until = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                // Jobs falling due one after another (a steady stream of scheduled messages)
                // are promoted in small batches rather than one statement each.
                wait = wait.min(until.max(MIN_PROMOTION_GAP) + Duration::from_millis(1));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "promoting scheduled jobs failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = shared.scheduler_wake.notified() => {}
            _ = stop.changed() => return,
        }
    }
}

/// Returns jobs with expired leases to `retryable` (due at once) and wakes the scheduler.
pub async fn rescue_loop(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let interval = shared.settings.rescue_interval();
    loop {
        if sleep_or_stop(&mut stop, interval).await {
            return;
        }
        let mut total = 0;
        loop {
            match rescue_expired(&shared.system_pool, 1000).await {
                Ok(n) => {
                    total += n;
                    if n < 1000 {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "rescuing expired leases failed");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::warn!(
                rescued = total,
                "returned jobs whose worker stopped renewing their lease"
            );
            shared.scheduler_wake.notify_one();
        }
    }
}

/// Deletes finalized jobs past their retention, in bounded batches.
pub async fn prune_loop(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let s = &shared.settings;
    loop {
        if sleep_or_stop(&mut stop, s.prune_interval).await {
            return;
        }
        match prune(
            &shared.system_pool,
            s.keep_completed,
            s.keep_discarded,
            1000,
            50,
        )
        .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "pruned finalized jobs"),
            Err(e) => tracing::warn!(error = %e, "pruning jobs failed"),
        }
    }
}
