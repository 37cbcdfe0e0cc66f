//! `message.send`: delivers one scheduled message. In the job's tenant transaction
//! `messages::send::prepare` locks the message and re-checks it (skipped, deferred, or claimed
//! `pending → sending` and rendered); that commits before the SMTP exchange, so no database
//! connection or row lock is held while a mail server thinks; a second short transaction
//! records the outcome (`sent`, back to `pending` for a retry, or `failed`) and completes the
//! job with it. docs/ARCHITECTURE.md ("Never twice") states the one window that can duplicate.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fieldwork_core::ids::Actor;
use fieldwork_core::messages::send::{self, Claimed, Step};
use fieldwork_core::messages::{MessageSettings, MessageType, SendMessage, SkipReason};
use fieldwork_core::queue::{self, JobOptions};
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use crate::clients::{Clients, Mailer, SendError};
use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// What the handler needs besides its context.
struct Sender {
    settings: MessageSettings,
    mailer: Mailer,
}

/// Registers `message.send`.
pub fn register(registry: &mut Registry, settings: &MessageSettings, clients: &Clients) {
    let sender = Arc::new(Sender {
        settings: settings.clone(),
        mailer: clients.mailer.clone(),
    });
    registry.register(move |job: SendMessage, ctx| run(job, ctx, sender.clone()));
}

/// HELP texts of this kind's metrics.
pub fn describe_metrics() {
    describe_counter!(
        "fieldwork_messages_total",
        "Scheduled messages finished by the sender, by type and outcome (sent, failed, \
         skipped_<reason>)"
    );
    describe_histogram!(
        "fieldwork_message_send_lag_seconds",
        Unit::Seconds,
        "Time from a message's due time (after quiet hours) to the mail server accepting it"
    );
}

fn outcome(message_type: MessageType, outcome: &str) {
    counter!("fieldwork_messages_total", "type" => message_type.as_str(), "outcome" => outcome.to_owned())
        .increment(1);
}

fn skipped(message_type: MessageType, reason: SkipReason) {
    outcome(message_type, &format!("skipped_{}", reason.as_str()));
}

async fn run(job: SendMessage, ctx: JobContext, sender: Arc<Sender>) -> JobResult {
    let Some(user) = ctx.user_id() else {
        return Err(JobError::discard("message.send runs for a tenant, not as a system job"));
    };
    let actor = Actor::system(user, Some(format!("job-{}", ctx.id())));
    let mut tx = ctx.begin().await?;
    let step = send::prepare(&mut tx, &actor, &sender.settings, job.message_id, Utc::now()).await?;
    match step {
        Step::Done => tx.complete_and_commit(&ctx).await,
        Step::Skipped(message_type, reason) => {
            tx.complete_and_commit(&ctx).await?;
            skipped(message_type, reason);
            Ok(())
        }
        Step::Defer(at) => {
            // This job ends and its successor waits for the new time, atomically: the message
            // never has zero or two send jobs.
            if !tx.complete(&ctx).await? {
                tx.rollback().await?;
                return Err(JobError::failed("job no longer held; not deferred"));
            }
            let options = JobOptions::default()
                .run_at(at)
                .unique_key(fieldwork_core::messages::send_job_key(job.message_id));
            queue::enqueue_with(&mut tx, &job, options).await?;
            tx.commit_completed(&ctx, true).await
        }
        Step::Send(claimed) => {
            tx.commit().await?;
            let result = sender
                .mailer
                .send(claimed.id, &claimed.to, &claimed.email)
                .await;
            record(&ctx, &actor, &claimed, result).await
        }
    }
}

/// Records the outcome of the exchange. A database hiccup here after the server accepted the
/// mail would make the retry send it again, so the write is tried a few times first.
async fn record(
    ctx: &JobContext,
    actor: &Actor,
    claimed: &Claimed,
    result: Result<(), SendError>,
) -> JobResult {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=4 {
        match write_outcome(ctx, actor, claimed, &result).await {
            Ok(()) => break,
            Err(e) if attempt < 4 => {
                tracing::warn!(message = %claimed.id, error = e.message(), "recording the send outcome failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            Err(e) => return Err(e),
        }
    }
    match result {
        Ok(()) => {
            outcome(claimed.message_type, "sent");
            let lag = (Utc::now() - claimed.due).to_std().unwrap_or_default();
            histogram!("fieldwork_message_send_lag_seconds", "type" => claimed.message_type.as_str())
                .record(lag.as_secs_f64());
            Ok(())
        }
        Err(SendError::Transient(e)) if !last_attempt(ctx) => Err(JobError::failed(e)),
        Err(SendError::Transient(_) | SendError::Permanent { .. }) => {
            outcome(claimed.message_type, "failed");
            Ok(())
        }
    }
}

fn last_attempt(ctx: &JobContext) -> bool {
    ctx.attempt() >= ctx.max_attempts()
}

/// One transaction: the message's new status (and the customer's bounce), and — unless the
/// job is to be retried — its completion.
async fn write_outcome(
    ctx: &JobContext,
    actor: &Actor,
    claimed: &Claimed,
    result: &Result<(), SendError>,
) -> JobResult {
    let mut tx = ctx.begin().await?;
    let finished = match result {
        Ok(()) => {
            send::record_sent(&mut tx, actor, claimed.id).await?;
            true
        }
        Err(SendError::Transient(e)) if !last_attempt(ctx) => {
            send::record_retry(&mut tx, actor, claimed.id, e).await?;
            false
        }
        Err(SendError::Transient(e)) => {
            let e = format!("gave up after {} attempts: {e}", ctx.attempt());
            send::record_failed(&mut tx, actor, claimed, &e, false).await?;
            true
        }
        Err(SendError::Permanent { reply, bounced }) => {
            send::record_failed(&mut tx, actor, claimed, reply, *bounced).await?;
            true
        }
    };
    if !finished {
        return tx.commit().await;
    }
    // What happened is recorded even if another worker took the job over meanwhile (its run
    // then finds the message finished and does nothing).
    let completed = tx.complete(ctx).await?;
    tx.commit_completed(ctx, completed).await
}
