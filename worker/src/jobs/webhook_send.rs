//! `webhook.send`: one delivery outside the cursor — `webhook.redeliver` (an event again, same
//! `webhook-id`) or `webhook.ping` (a `webhook.ping` test event). Recorded like every attempt
//! (`trigger` `redelivery` or `ping`); a failure retries with the job's backoff up to its
//! attempts. It never moves the cursor nor counts towards disabling the endpoint.

use std::sync::Arc;

use chrono::Utc;
use fieldwork_core::events;
use fieldwork_core::ids::Actor;
use fieldwork_core::webhooks::deliveries::NewDelivery;
use fieldwork_core::webhooks::delivery::{delivery_target, record_attempts};
use fieldwork_core::webhooks::jobs::{OneOff, SendWebhook};
use serde_json::json;

use super::webhook_deliver::{new_delivery, status_of};
use crate::clients::webhook::{Attempt, WebhookClient};
use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// Registers `webhook.send`.
pub fn register(registry: &mut Registry, client: WebhookClient) {
    let client = Arc::new(client);
    registry.register(move |job: SendWebhook, ctx| run(job, ctx, client.clone()));
}

async fn run(job: SendWebhook, ctx: JobContext, client: Arc<WebhookClient>) -> JobResult {
    let Some(user) = ctx.user_id() else {
        return Err(JobError::discard("webhook.send runs for a tenant"));
    };
    let mut tx = ctx.begin().await?;
    let target = delivery_target(&mut tx, job.subscription_id, false).await?;
    let event = match job.send {
        OneOff::Redeliver { event_id } => events::get(&mut tx, event_id).await?,
        OneOff::Ping { .. } => None,
    };
    tx.commit().await?;
    let Some(target) = target.filter(|t| !t.deleted) else {
        return Ok(());
    };
    let (id, body) = match (&job.send, &event) {
        (OneOff::Redeliver { .. }, Some(event)) => {
            (event.id.to_string(), serde_json::to_vec(event)?)
        }
        (OneOff::Redeliver { event_id }, None) => {
            return Err(JobError::discard(format!("event {event_id} not found")));
        }
        (OneOff::Ping { ping_id }, _) => (
            ping_id.to_string(),
            serde_json::to_vec(&json!({
                "id": ping_id,
                "type": "webhook.ping",
                "timestamp": Utc::now(),
                "data": {"subscription_id": target.id},
            }))?,
        ),
    };
    let attempt = client
        .send(&target.url, &target.secrets(Utc::now()), &id, body)
        .await;
    let last = ctx.attempt() >= ctx.max_attempts();
    let status = status_of(&attempt, last && !attempt.succeeded());
    let record = match &event {
        Some(event) => new_delivery(
            target.id,
            event,
            "redelivery",
            ctx.attempt(),
            status,
            &attempt,
        ),
        None => ping_delivery(target.id, ctx.attempt(), status, &attempt),
    };
    let actor = Actor::system(user, Some(format!("job-{}", ctx.id())));
    let mut tx = ctx.begin().await?;
    record_attempts(
        &mut tx,
        &actor,
        std::slice::from_ref(&record),
        None,
        client.settings().disable_after,
    )
    .await?;
    tx.commit().await?;
    if attempt.succeeded() || last {
        Ok(())
    } else {
        Err(JobError::failed(
            attempt.error.unwrap_or_else(|| "delivery failed".into()),
        ))
    }
}

fn ping_delivery(
    subscription_id: uuid::Uuid,
    number: i32,
    status: &'static str,
    attempt: &Attempt,
) -> NewDelivery {
    NewDelivery {
        subscription_id,
        event_id: None,
        event_type: "webhook.ping".to_owned(),
        sequence: None,
        trigger: "ping",
        attempt: number,
        status,
        response_status: attempt.status.map(i32::from),
        latency_ms: i32::try_from(attempt.latency.as_millis()).ok(),
        response_body: attempt.body.clone(),
        error: attempt.error.clone(),
    }
}
