//! LISTEN/NOTIFY wake-ups: one connection per process listens for new work (payload: queue,
//! or `:scheduled`) and for cancellations (payload: job id) and relays them to fetchers, the
//! scheduler and — after the database confirms them (`cancel`) — running handlers. Lost connections reconnect; everything is woken after a
//! reconnect in case a notification was missed. Not used in poll-only mode.

use std::sync::Arc;
use std::time::Duration;

use fieldwork_core::queue::{CANCEL_CHANNEL, JOBS_CHANNEL, JobId, SCHEDULED_PAYLOAD};
use sqlx::postgres::PgListener;

use super::Shared;

pub async fn run(shared: Arc<Shared>) {
    let mut stop = shared.stop.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        let listener = async {
            let mut l = PgListener::connect_with(&shared.system_pool).await?;
            l.listen_all([JOBS_CHANNEL, CANCEL_CHANNEL]).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        let mut listener = match listener {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; relying on polling until it works");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    _ = stop.changed() => return,
                }
            }
        };
        wake_all(&shared);
        loop {
            let note = tokio::select! {
                n = listener.try_recv() => n,
                _ = stop.changed() => return,
            };
            match note {
                Ok(Some(n)) => dispatch(&shared, n.channel(), n.payload()),
                // The connection dropped; the next try_recv reconnects. Wake everyone in case
                // a notification was lost meanwhile.
                Ok(None) => wake_all(&shared),
                Err(e) => {
                    tracing::warn!(error = %e, "notification listener failed; reconnecting");
                    break;
                }
            }
        }
    }
}

fn dispatch(shared: &Shared, channel: &str, payload: &str) {
    if channel == CANCEL_CHANNEL {
        // A hint only: any session may NOTIFY. The checker confirms it in the database.
        if let Ok(id) = payload.parse::<i64>() {
            shared.cancel_hints.hint(shared, JobId(id));
        }
        return;
    }
    if payload == SCHEDULED_PAYLOAD {
        shared.scheduler_wake.notify_one();
    } else if let Some(q) = shared.held.queue_index(payload) {
        shared.held.queues[q].wake.notify_one();
    }
}

pub fn wake_all(shared: &Shared) {
    for q in &shared.held.queues {
        q.wake.notify_one();
    }
    shared.scheduler_wake.notify_one();
}
