//! The jobs of the fan-out: `webhook.fan_out` (per tenant, coalesced while one waits: numbers new audit rows
//! and wakes the deliveries), `webhook.deliver` (per subscription, unique: delivers from the
//! subscription's cursor in sequence order) and `webhook.send` (one out-of-band delivery:
//! `webhook.redeliver` and `webhook.ping`). Handlers live in the worker.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;
use crate::events::sequence::{FAN_OUT_KIND, FAN_OUT_QUEUE};
use crate::queue::{self, Job, JobOptions};

/// Numbers the tenant's committed, unnumbered audit rows; enqueued by every audited write
/// (`events::sequence::WAKE_CTE` writes the same row).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FanOut {}

impl Job for FanOut {
    const KIND: &'static str = FAN_OUT_KIND;
    const QUEUE: &'static str = FAN_OUT_QUEUE;
    const PRIORITY: i16 = 0;
    const MAX_ATTEMPTS: i32 = 25;
    const TIMEOUT: Duration = Duration::from_secs(60);
}

/// Enqueues the tenant's fan-out (e.g. when a round left rows for the next one).
pub async fn enqueue_fan_out(conn: &mut PgConnection) -> Result<()> {
    queue::enqueue(conn, &FanOut {}).await?;
    Ok(())
}

/// Delivers a subscription's events from its cursor, in order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeliverWebhooks {
    pub subscription_id: Uuid,
}

impl Job for DeliverWebhooks {
    const KIND: &'static str = "webhook.deliver";
    const QUEUE: &'static str = "webhooks";
    const PRIORITY: i16 = 1;
    /// Attempts count database failures only: endpoint failures snooze the job on the
    /// retry schedule without spending attempts.
    const MAX_ATTEMPTS: i32 = 100;
    const TIMEOUT: Duration = Duration::from_secs(15 * 60);

    fn backoff(attempt: i32) -> Duration {
        queue::backoff::exponential(attempt, Duration::from_secs(1), Duration::from_secs(300))
    }
}

/// The unique key of a subscription's delivery job.
pub fn deliver_key(subscription_id: Uuid) -> String {
    format!("webhook.deliver:{subscription_id}")
}

/// Wakes the subscription's delivery job (a no-op when one is already queued or waiting).
pub async fn wake_delivery(conn: &mut PgConnection, subscription_id: Uuid) -> Result<()> {
    queue::enqueue_with(
        conn,
        &DeliverWebhooks { subscription_id },
        JobOptions::default().unique_key(deliver_key(subscription_id)),
    )
    .await?;
    Ok(())
}

/// What an out-of-band delivery sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OneOff {
    /// The event (audit row) again: `webhook.redeliver`.
    Redeliver { event_id: Uuid },
    /// A `webhook.ping` test event with this id: `webhook.ping`.
    Ping { ping_id: Uuid },
}

/// One delivery outside the cursor: retried a few times, recorded like the others.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendWebhook {
    pub subscription_id: Uuid,
    pub send: OneOff,
}

impl Job for SendWebhook {
    const KIND: &'static str = "webhook.send";
    const QUEUE: &'static str = "webhooks";
    const PRIORITY: i16 = 1;
    const MAX_ATTEMPTS: i32 = 3;
    const TIMEOUT: Duration = Duration::from_secs(5 * 60);
}
