//! `webhook.deliver`: one subscription's events, from its cursor, in sequence order. Events
//! are sent one after another; their attempts are recorded with the cursor in one short
//! transaction per batch (`FLUSH_EVERY` attempts or `FLUSH_AFTER`, and at every failure), so
//! no transaction is open during an HTTP exchange. A failure snoozes the job on the retry
//! schedule (head of line: later events wait, so order holds); after the last scheduled
//! attempt the event is given up (`exhausted`) and the cursor moves on. A crash between send
//! and record re-sends the unrecorded batch (receivers de-duplicate by `webhook-id`).
//!
//! The job completes only in a transaction that first takes the tenant's fan-out lock in
//! shared mode and finds nothing after the cursor, so a fan-out that numbered rows after the
//! job's last look either is seen or finds the job completed and queues the next one.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use fieldwork_core::events::types::matches;
use fieldwork_core::events::{self, Event, sequence};
use fieldwork_core::ids::Actor;
use fieldwork_core::webhooks::deliveries::{self, NewDelivery};
use fieldwork_core::webhooks::delivery::{
    DeliveryTarget, advance_cursor, delivery_target, record_attempts,
};
use fieldwork_core::webhooks::jobs::DeliverWebhooks;
use metrics::histogram;
use uuid::Uuid;

use crate::clients::webhook::{Attempt, WebhookClient};
use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// Events read per round.
const PAGE: i64 = 100;
/// A run hands over (snoozes for 0) after this long, so one busy endpoint does not hold a
/// worker slot indefinitely and the job's timeout is never reached.
const RUN_BUDGET: Duration = Duration::from_secs(60);

/// Registers `webhook.deliver`.
pub fn register(registry: &mut Registry, client: WebhookClient) {
    let client = Arc::new(client);
    registry.register(move |job: DeliverWebhooks, ctx| run(job, ctx, client.clone()));
}

/// HELP text of the fan-out lag histogram.
pub fn describe_metrics() {
    metrics::describe_histogram!(
        "fieldwork_webhook_fanout_lag_seconds",
        metrics::Unit::Seconds,
        "Time from an audited change to the first attempt to deliver it to a webhook endpoint"
    );
}

async fn run(job: DeliverWebhooks, ctx: JobContext, client: Arc<WebhookClient>) -> JobResult {
    let Some(user) = ctx.user_id() else {
        return Err(JobError::discard("webhook.deliver runs for a tenant"));
    };
    let actor = Actor::system(user, Some(format!("job-{}", ctx.id())));
    let started = Instant::now();
    loop {
        let mut tx = ctx.begin().await?;
        let target = delivery_target(&mut tx, job.subscription_id, false).await?;
        let Some(target) = target.filter(DeliveryTarget::receives) else {
            tx.commit().await?;
            if finish(&ctx, job.subscription_id).await? {
                return Ok(());
            }
            continue;
        };
        let page = events::after(&mut tx, target.cursor, PAGE).await?;
        let ids: Vec<Uuid> = page.iter().map(|e| e.id).collect();
        let attempts = deliveries::attempts_by_event(&mut tx, target.id, &ids).await?;
        tx.commit().await?;
        if page.is_empty() {
            if finish(&ctx, job.subscription_id).await? {
                return Ok(());
            }
            continue;
        }
        let mut batch = Batch::new(target.id);
        for event in &page {
            if !matches(&target.event_types, &event.event_type) {
                batch.advance_to = event.data.sequence;
                continue;
            }
            let before = attempts.get(&event.id).copied().unwrap_or(0);
            let (record, next) = deliver(&client, &target, event, before + 1).await?;
            batch.records.push(record);
            match next {
                Next::Continue => batch.advance_to = event.data.sequence,
                Next::RetryIn(delay) => {
                    batch.advance_to = event.data.sequence - 1;
                    return match batch.flush(&ctx, &actor, &client).await? {
                        true => Ok(()),
                        false => Err(JobError::snooze(delay)),
                    };
                }
            }
            if batch.records.len() >= FLUSH_EVERY || batch.since.elapsed() > FLUSH_AFTER {
                if batch.flush(&ctx, &actor, &client).await? {
                    return Ok(());
                }
                batch = Batch::new(target.id);
            }
            if started.elapsed() > RUN_BUDGET || ctx.is_cancelled() {
                batch.flush(&ctx, &actor, &client).await?;
                return Err(JobError::snooze(Duration::ZERO));
            }
        }
        if batch.flush(&ctx, &actor, &client).await? {
            return Ok(());
        }
    }
}

/// Attempts recorded together (one transaction): after a crash at most these are sent again.
pub const FLUSH_EVERY: usize = 20;
/// ... or after this long, so records and the cursor stay current on a slow endpoint.
const FLUSH_AFTER: Duration = Duration::from_millis(250);

struct Batch {
    subscription_id: Uuid,
    records: Vec<NewDelivery>,
    advance_to: i64,
    since: Instant,
}

impl Batch {
    fn new(subscription_id: Uuid) -> Batch {
        Batch {
            subscription_id,
            records: Vec::new(),
            advance_to: 0,
            since: Instant::now(),
        }
    }

    /// Records the attempts and moves the cursor. True when the endpoint got disabled (the
    /// job completed in the same transaction).
    async fn flush(
        &self,
        ctx: &JobContext,
        actor: &Actor,
        client: &WebhookClient,
    ) -> Result<bool, JobError> {
        if self.records.is_empty() && self.advance_to == 0 {
            return Ok(false);
        }
        let mut tx = ctx.begin().await?;
        let target = self.subscription_id;
        let disabled = if self.records.is_empty() {
            false
        } else {
            record_attempts(
                &mut tx,
                actor,
                &self.records,
                Some(self.advance_to),
                client.settings().disable_after,
            )
            .await?
        };
        if self.records.is_empty() {
            advance_cursor(&mut tx, target, self.advance_to).await?;
        }
        if disabled {
            tracing::warn!(subscription = %target, "webhook endpoint disabled after failing too long");
            let held = tx.complete(ctx).await?;
            tx.commit_completed(ctx, held).await?;
            return Ok(true);
        }
        tx.commit().await?;
        Ok(false)
    }
}

enum Next {
    Continue,
    RetryIn(Duration),
}

/// Sends one event as attempt `number`; returns its record and what comes next.
async fn deliver(
    client: &WebhookClient,
    target: &DeliveryTarget,
    event: &Event,
    number: i32,
) -> Result<(NewDelivery, Next), JobError> {
    let body = serde_json::to_vec(event)?;
    if number == 1 {
        let lag = (Utc::now() - event.timestamp).to_std().unwrap_or_default();
        histogram!("fieldwork_webhook_fanout_lag_seconds").record(lag.as_secs_f64());
    }
    let attempt = client
        .send(
            &target.url,
            &target.secrets(Utc::now()),
            &event.id.to_string(),
            body,
        )
        .await;
    let settings = client.settings();
    let exhausted = !attempt.succeeded() && number >= settings.max_attempts();
    let record = new_delivery(
        target.id,
        event,
        "delivery",
        number,
        status_of(&attempt, exhausted),
        &attempt,
    );
    if attempt.succeeded() || exhausted {
        return Ok((record, Next::Continue));
    }
    let delay = settings.delay_before(number + 1).unwrap_or(Duration::ZERO);
    Ok((record, Next::RetryIn(delay)))
}

/// The `status` column of an attempt.
pub(crate) fn status_of(attempt: &Attempt, last: bool) -> &'static str {
    if attempt.succeeded() {
        "succeeded"
    } else if attempt.refused && !last {
        "refused"
    } else if last {
        "exhausted"
    } else {
        "failed"
    }
}

/// The record of one attempt.
pub(crate) fn new_delivery(
    subscription_id: Uuid,
    event: &Event,
    trigger: &'static str,
    attempt_number: i32,
    status: &'static str,
    attempt: &Attempt,
) -> NewDelivery {
    NewDelivery {
        subscription_id,
        event_id: Some(event.id),
        event_type: event.event_type.clone(),
        sequence: Some(event.data.sequence),
        trigger,
        attempt: attempt_number,
        status,
        response_status: attempt.status.map(i32::from),
        latency_ms: i32::try_from(attempt.latency.as_millis()).ok(),
        response_body: attempt.body.clone(),
        error: attempt.error.clone(),
    }
}

/// Completes the job if there is nothing to deliver: the fan-out lock (shared) first, then
/// the completion, then the look. Returns false (rolled back) when events arrived.
async fn finish(ctx: &JobContext, subscription_id: Uuid) -> Result<bool, JobError> {
    let mut tx = ctx.begin().await?;
    let target = delivery_target(&mut tx, subscription_id, true).await?;
    sequence::lock_shared(&mut tx).await?;
    if !tx.complete(ctx).await? {
        tx.rollback().await?;
        return Err(JobError::failed("job is no longer held by this worker"));
    }
    let more = match target.filter(DeliveryTarget::receives) {
        Some(t) => !events::after(&mut tx, t.cursor, 1).await?.is_empty(),
        None => false,
    };
    if more {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit_completed(ctx, true).await?;
    Ok(true)
}
