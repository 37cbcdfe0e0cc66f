//! `webhook.deliver`: one subscription's events, from its cursor, in sequence order. Each
//! event is sent, then its attempt recorded with the cursor in one short transaction (no
//! transaction is open during the HTTP exchange). A failure snoozes the job on the retry
//! schedule (head of line: later events wait, so order holds); after the last scheduled
//! attempt the event is given up (`exhausted`) and the cursor moves on. A crash between send
//! and record re-sends that one event (receivers de-duplicate by `webhook-id`).
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
use fieldwork_core::webhooks::delivery::{DeliveryTarget, delivery_target, record_attempt};
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
        let (target, page) = match target.filter(DeliveryTarget::receives) {
            Some(t) => {
                let page = events::after(&mut tx, t.cursor, PAGE).await?;
                (t, page)
            }
            None => (placeholder(job.subscription_id), Vec::new()),
        };
        tx.commit().await?;
        if page.is_empty() {
            if finish(&ctx, job.subscription_id).await? {
                return Ok(());
            }
            continue;
        }
        for event in page {
            if !matches(&target.event_types, &event.event_type) {
                continue;
            }
            match deliver(&ctx, &client, &actor, &target, &event).await? {
                Next::Continue => {}
                Next::Stop => return Ok(()),
                Next::RetryIn(delay) => return Err(JobError::snooze(delay)),
            }
            if started.elapsed() > RUN_BUDGET || ctx.is_cancelled() {
                return Err(JobError::snooze(Duration::ZERO));
            }
        }
        // Events filtered out at the end of the page are done with too.
        let mut tx = ctx.begin().await?;
        if let Some(last) = last_seen(&mut tx, &target).await? {
            fieldwork_core::webhooks::delivery::advance_cursor(&mut tx, target.id, last).await?;
        }
        tx.commit().await?;
    }
}

/// A target that receives nothing (deleted, inactive or missing): only its id matters.
fn placeholder(id: Uuid) -> DeliveryTarget {
    DeliveryTarget {
        id,
        url: String::new(),
        event_types: Vec::new(),
        active: false,
        deleted: true,
        cursor: 0,
        secret: String::new(),
        previous_secret: None,
        previous_secret_expires_at: None,
    }
}

/// The sequence of the last event of the page just handled (the cursor may move there).
async fn last_seen(
    conn: &mut sqlx::PgConnection,
    target: &DeliveryTarget,
) -> Result<Option<i64>, JobError> {
    let current = delivery_target(conn, target.id, false).await?;
    let Some(current) = current else {
        return Ok(None);
    };
    let page = events::after(conn, current.cursor, PAGE).await?;
    // Everything on the page that was not delivered is filtered out: move past the trailing
    // run of filtered events only.
    let mut last = None;
    for e in &page {
        if matches(&target.event_types, &e.event_type) {
            break;
        }
        last = Some(e.data.sequence);
    }
    Ok(last)
}

enum Next {
    Continue,
    /// The endpoint was disabled; the job completed.
    Stop,
    RetryIn(Duration),
}

async fn deliver(
    ctx: &JobContext,
    client: &WebhookClient,
    actor: &Actor,
    target: &DeliveryTarget,
    event: &Event,
) -> Result<Next, JobError> {
    let body = serde_json::to_vec(event)?;
    let lag = (Utc::now() - event.timestamp).to_std().unwrap_or_default();
    let attempt = client
        .send(
            &target.url,
            &target.secrets(Utc::now()),
            &event.id.to_string(),
            body,
        )
        .await;
    let settings = client.settings();
    let mut tx = ctx.begin().await?;
    let number = deliveries::attempts_of(&mut tx, target.id, event.id).await? + 1;
    if number == 1 {
        histogram!("fieldwork_webhook_fanout_lag_seconds").record(lag.as_secs_f64());
    }
    let exhausted = !attempt.succeeded() && number >= settings.max_attempts();
    let status = status_of(&attempt, exhausted);
    let seq = event.data.sequence;
    let advance_to = if attempt.succeeded() || exhausted {
        seq
    } else {
        seq - 1
    };
    let record = new_delivery(target.id, event, "delivery", number, status, &attempt);
    let disabled = record_attempt(
        &mut tx,
        actor,
        &record,
        Some(advance_to),
        settings.disable_after,
    )
    .await?;
    if disabled {
        tracing::warn!(subscription = %target.id, "webhook endpoint disabled after failing too long");
        let held = tx.complete(ctx).await?;
        tx.commit_completed(ctx, held).await?;
        return Ok(Next::Stop);
    }
    tx.commit().await?;
    if attempt.succeeded() || exhausted {
        return Ok(Next::Continue);
    }
    let delay = settings.delay_before(number + 1).unwrap_or(Duration::ZERO);
    Ok(Next::RetryIn(delay))
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
