//! The queue sampler: every worker offers, once per `JOB_STATS_INTERVAL_SECS`, to refresh the
//! fleet's shared queue sample (`fieldwork_core::queue::sample`). Only the first offer after
//! the sample went stale does the work, so the fleet runs one sampling statement per
//! interval however many workers there are, and no election or hand-over is needed: when
//! the worker that sampled last stops, another one's next offer takes over.

use std::sync::Arc;

use fieldwork_core::db::begin_system;
use fieldwork_core::queue::sample::sample_if_due;
use fieldwork_core::webhooks::delivery::disabled_count;

use super::Shared;

pub async fn sample_loop(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    let interval = shared.settings.stats_interval;
    // Stale a little before the next tick, so that with one worker every tick samples.
    let stale_after = interval.as_secs_f64() * 0.9;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        match sample_if_due(&shared.system_pool, &shared.worker_id, stale_after).await {
            Ok(true) => tracing::debug!("sampled the queue statistics"),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "sampling the queue statistics failed"),
        }
        match disabled_endpoints(&shared).await {
            Ok(n) => metrics::gauge!("fieldwork_webhook_endpoints_disabled").set(n as f64),
            Err(e) => tracing::warn!(error = %e, "counting disabled webhook endpoints failed"),
        }
    }
}

/// The fleet-wide number of disabled webhook endpoints (every worker reports it; dashboards
/// and the alert take the max).
async fn disabled_endpoints(shared: &Shared) -> fieldwork_core::Result<i64> {
    let mut tx = begin_system(&shared.system_pool).await?;
    let n = disabled_count(&mut tx).await?;
    tx.commit().await?;
    Ok(n)
}
