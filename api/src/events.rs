//! The event hub: one shared `LISTEN fieldwork_events` connection per API process (not one per
//! client), started with the first stream. The fan-out NOTIFYs `<tenant>:<last sequence>`;
//! the hub wakes only that tenant's streams (a `watch` per tenant with at least one client),
//! which then read their tenant's events themselves under RLS. After a lost connection every
//! stream is woken once, so nothing missed during the gap stays unread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use fieldwork_core::events::EVENTS_CHANNEL;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::watch;
use uuid::Uuid;

/// Shared by every stream of the process.
pub struct EventHub {
    pool: PgPool,
    tenants: Mutex<HashMap<Uuid, watch::Sender<i64>>>,
    started: std::sync::Once,
}

/// A stream's registration: its wake-ups, and the clients gauge while it lives.
pub struct Subscription {
    pub wake: watch::Receiver<i64>,
    hub: Arc<EventHub>,
    tenant: Uuid,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        metrics::gauge!("fieldwork_events_stream_clients").decrement(1.0);
        let mut tenants = self
            .hub
            .tenants
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = tenants.get(&self.tenant)
            && tx.receiver_count() <= 1
        {
            tenants.remove(&self.tenant);
        }
    }
}

impl EventHub {
    pub fn new(pool: PgPool) -> Arc<EventHub> {
        Arc::new(EventHub {
            pool,
            tenants: Mutex::new(HashMap::new()),
            started: std::sync::Once::new(),
        })
    }

    /// Registers a stream of `tenant` (starting the shared listener on first use).
    pub fn subscribe(self: &Arc<Self>, tenant: Uuid) -> Subscription {
        let hub = self.clone();
        self.started.call_once(move || {
            tokio::spawn(listen(hub));
        });
        let wake = {
            let mut tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
            tenants
                .entry(tenant)
                .or_insert_with(|| watch::channel(0).0)
                .subscribe()
        };
        metrics::gauge!("fieldwork_events_stream_clients").increment(1.0);
        Subscription {
            wake,
            hub: self.clone(),
            tenant,
        }
    }

    fn notify(&self, payload: &str) {
        let Some((tenant, seq)) = payload.split_once(':') else {
            return;
        };
        let (Ok(tenant), Ok(seq)) = (tenant.parse::<Uuid>(), seq.parse::<i64>()) else {
            return;
        };
        let tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = tenants.get(&tenant) {
            tx.send_replace(seq);
        }
    }

    fn wake_all(&self) {
        let tenants = self.tenants.lock().unwrap_or_else(PoisonError::into_inner);
        for tx in tenants.values() {
            tx.send_modify(|_| {});
        }
    }
}

/// The shared listener: reconnects with a pause after any failure, then wakes everyone.
async fn listen(hub: Arc<EventHub>) {
    loop {
        match PgListener::connect_with(&hub.pool).await {
            Ok(mut listener) => match listener.listen(EVENTS_CHANNEL).await {
                Ok(()) => {
                    hub.wake_all();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(n)) => hub.notify(n.payload()),
                            Ok(None) => {
                                // The connection was lost and re-established: catch up.
                                hub.wake_all();
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "event listener failed; reconnecting");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN for events failed"),
            },
            Err(e) => tracing::warn!(error = %e, "event listener cannot connect"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
