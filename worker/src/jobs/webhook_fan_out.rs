//! `webhook.fan_out`: numbers a tenant's committed audit rows and wakes what follows them.
//! Under the tenant's exclusive fan-out lock (which waits for writers in flight) it completes
//! itself, gives every unnumbered committed row the next `sequence`, queues the delivery job
//! of every subscription that is behind, and NOTIFYs the API's event streams — all in one
//! transaction, so a crash at any point leaves the rows unnumbered and this job to be
//! rescued and run again (`events::sequence` has the protocol).

use fieldwork_core::events::{EVENTS_CHANNEL, sequence};
use fieldwork_core::queue::{self, JobOptions, NewJob};
use fieldwork_core::webhooks::delivery::behind;
use fieldwork_core::webhooks::jobs::{DeliverWebhooks, FanOut, deliver_key, enqueue_fan_out};

use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// Most rows numbered per run; a larger backlog continues in the next run.
const BATCH: i64 = 5000;

/// Registers `webhook.fan_out`.
pub fn register(registry: &mut Registry) {
    registry.register(|_job: FanOut, ctx| run(ctx));
}

async fn run(ctx: JobContext) -> JobResult {
    let Some(user) = ctx.user_id() else {
        return Err(JobError::discard("webhook.fan_out runs for a tenant"));
    };
    let mut tx = ctx.begin().await?;
    sequence::lock_exclusive(&mut tx).await?;
    if !tx.complete(&ctx).await? {
        tx.rollback().await?;
        return Err(JobError::failed(
            "job is no longer held by this worker; rolled back",
        ));
    }
    let numbered = sequence::number_pending(&mut tx, BATCH).await?;
    if numbered.count >= BATCH {
        enqueue_fan_out(&mut tx).await?;
    }
    if numbered.count > 0 {
        let subscriptions = behind(&mut tx, numbered.last).await?;
        let jobs = subscriptions
            .into_iter()
            .map(|subscription_id| {
                NewJob::new(
                    &DeliverWebhooks { subscription_id },
                    JobOptions::default().unique_key(deliver_key(subscription_id)),
                )
            })
            .collect::<Result<Vec<_>, _>>()?;
        queue::insert_many(&mut tx, &jobs).await?;
        sqlx::query("SELECT pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(format!("{}:{}", user.0, numbered.last))
            .execute(&mut *tx)
            .await?;
    }
    tx.commit_completed(&ctx, true).await
}
