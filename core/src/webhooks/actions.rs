//! The webhook actions: `webhook.rotate_secret` (a new secret; the previous one keeps signing
//! for `WEBHOOK_ROTATION_WINDOW`), `webhook.redeliver` (one delivery of a recorded attempt's
//! event again) and `webhook.ping` (a `webhook.ping` test event). Redeliver and ping change
//! nothing but queue one `webhook.send` job, so they are not audited.

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::jobs::{OneOff, SendWebhook};
use super::service::{ENTITY, NOT_FOUND, fetch};
use super::settings::WebhookSettings;
use super::signing::generate_secret;
use super::{WebhookSubscription, WebhookSubscriptionWithSecret, columns, deliveries};
use crate::audit::{self, AuditAction};
use crate::error::Result;
use crate::fields::JsonInput;
use crate::ids::{Actor, new_id};
use crate::queue;

/// Payload of `webhook.rotate_secret` and `webhook.ping`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionRef {
    pub subscription_id: Uuid,
}
impl JsonInput for SubscriptionRef {}

/// Payload of `webhook.redeliver`: the recorded attempt whose event goes out once more.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverRequest {
    pub delivery_id: Uuid,
}
impl JsonInput for RedeliverRequest {}

/// The answer of `webhook.redeliver` and `webhook.ping`: what was queued.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WebhookQueued {
    pub subscription_id: Uuid,
    /// The `webhook-id` the delivery will carry.
    pub event_id: Uuid,
    /// `redelivery` or `ping`.
    pub trigger: String,
}

/// Replaces the secret; the old one still signs (a second signature) until the window ends.
pub async fn rotate_secret(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &WebhookSettings,
    input: SubscriptionRef,
) -> Result<WebhookSubscriptionWithSecret> {
    let current = fetch(conn, input.subscription_id, true)
        .await?
        .ok_or(NOT_FOUND)?;
    let secret = generate_secret()?;
    let window_secs = i64::try_from(settings.rotation_window.as_secs()).unwrap_or(i64::MAX / 2);
    let sub: WebhookSubscription = sqlx::query_as(concat!(
        "UPDATE webhook_subscriptions
            SET previous_secret = secret, secret = $2,
                previous_secret_expires_at = now() + make_interval(secs => $3)
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(&secret)
    .bind(window_secs as f64)
    .fetch_one(&mut *conn)
    .await?;
    let mut changes = serde_json::Map::new();
    changes.insert(
        "previous_secret_expires_at".to_owned(),
        json!({"old": current.previous_secret_expires_at, "new": sub.previous_secret_expires_at}),
    );
    audit::log_change(
        conn,
        actor,
        ENTITY,
        sub.id,
        AuditAction::Action("rotate_secret"),
        changes,
    )
    .await?;
    Ok(WebhookSubscriptionWithSecret {
        subscription: sub,
        secret,
    })
}

/// Queues the event of a recorded attempt once more (out of order, not moving the cursor).
pub async fn redeliver(conn: &mut PgConnection, input: RedeliverRequest) -> Result<WebhookQueued> {
    let delivery = deliveries::get(conn, input.delivery_id).await?;
    let sub = fetch(conn, delivery.subscription_id, false)
        .await?
        .ok_or(NOT_FOUND)?;
    let (send, event_id) = match delivery.event_id {
        Some(event_id) => (OneOff::Redeliver { event_id }, event_id),
        None => {
            let ping_id = new_id();
            (OneOff::Ping { ping_id }, ping_id)
        }
    };
    queue::enqueue(
        conn,
        &SendWebhook {
            subscription_id: sub.id,
            send,
        },
    )
    .await?;
    Ok(WebhookQueued {
        subscription_id: sub.id,
        event_id,
        trigger: if delivery.event_id.is_some() {
            "redelivery"
        } else {
            "ping"
        }
        .to_owned(),
    })
}

/// Queues a `webhook.ping` test event to the subscription (also when inactive).
pub async fn ping(conn: &mut PgConnection, input: SubscriptionRef) -> Result<WebhookQueued> {
    let sub = fetch(conn, input.subscription_id, false)
        .await?
        .ok_or(NOT_FOUND)?;
    let ping_id = new_id();
    queue::enqueue(
        conn,
        &SendWebhook {
            subscription_id: sub.id,
            send: OneOff::Ping { ping_id },
        },
    )
    .await?;
    Ok(WebhookQueued {
        subscription_id: sub.id,
        event_id: ping_id,
        trigger: "ping".to_owned(),
    })
}
