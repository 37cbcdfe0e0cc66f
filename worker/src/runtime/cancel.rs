//! Cancellation requests that arrive by NOTIFY. A `fieldwork_job_cancel` notification is only a
//! hint: any session may send one, with any payload. So the listener only notes the ids this
//! process holds, and a checker confirms them in the database — one statement for whatever
//! accumulated meanwhile — before it stops a handler: only a job whose row says
//! `cancel_requested_at` (and that this worker still runs) is cancelled. The heartbeat delivers
//! the same requests within a third of the lease even without notifications (poll-only mode).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use fieldwork_core::queue::JobId;
use fieldwork_core::queue::lease::cancel_requested;
use tokio::sync::Notify;

use super::Shared;

/// Ids to check, noted by the listener.
#[derive(Default)]
pub struct CancelHints {
    pending: Mutex<HashSet<JobId>>,
    wake: Notify,
}

impl CancelHints {
    /// Notes a notification's job id; ids this process does not hold are dropped at once, so
    /// the set never grows beyond the jobs held.
    pub fn hint(&self, shared: &Shared, id: JobId) {
        if !shared.held.holds(id) {
            return;
        }
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id);
        self.wake.notify_one();
    }

    fn take(&self) -> Vec<JobId> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.drain().collect()
    }
}

/// Confirms noted ids against the database and cancels the confirmed ones, until shutdown.
pub async fn check_loop(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    loop {
        tokio::select! {
            () = shared.cancel_hints.wake.notified() => {}
            _ = stop.changed() => return,
        }
        let ids = shared.cancel_hints.take();
        if ids.is_empty() {
            continue;
        }
        match cancel_requested(&shared.system_pool, &shared.worker_id, &ids).await {
            Ok(confirmed) => {
                for id in &confirmed {
                    shared.held.cancel(*id);
                }
                let ignored = ids.len() - confirmed.len();
                if ignored > 0 {
                    tracing::debug!(
                        ignored,
                        "cancel notifications without a cancellation request in the database"
                    );
                }
            }
            // The heartbeat will deliver real requests; nothing is lost by dropping these.
            Err(e) => tracing::warn!(error = %e, "checking cancel notifications failed"),
        }
    }
}
