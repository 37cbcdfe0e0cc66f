//! `message.send`: delivers one scheduled message. In a tenant transaction (shared with the
//! jobs of the same tenant that reach that step at the same moment: `send_batch`)
//! `messages::send::prepare` locks the message and re-checks it (skipped, deferred, or claimed
//! `pending → sending` and rendered); that commits before the SMTP exchange, so no database
//! connection or row lock is held while a mail server thinks; a second short transaction
//! records the outcome (`sent`, back to `pending` for a retry, or `failed`), and the runtime
//! acknowledges the job in its batches. docs/ARCHITECTURE.md ("Never twice") states the one window that can duplicate.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use fieldwork_core::messages::send::{Claimed, Outcome, Request, Step};
use fieldwork_core::messages::{MessageSettings, MessageType, SendMessage, send_job_key};
use fieldwork_core::queue::{self, JobOptions};
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};

use super::send_batch::Batcher;
use crate::clients::{Clients, Mailer, SendError};
use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// What the handler needs besides its context.
struct Sender {
    batcher: Batcher,
    mailer: Mailer,
}

/// Registers `message.send`.
pub fn register(registry: &mut Registry, settings: &MessageSettings, clients: &Clients) {
    let sender = Arc::new(Sender {
        batcher: Batcher::new(settings.clone()),
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

fn count(message_type: MessageType, outcome: &str) {
    counter!("fieldwork_messages_total", "type" => message_type.as_str(), "outcome" => outcome.to_owned())
        .increment(1);
}

async fn run(job: SendMessage, ctx: JobContext, sender: Arc<Sender>) -> JobResult {
    let request_id = Some(format!("job-{}", ctx.id()));
    let request = Request {
        id: job.message_id,
        request_id: request_id.clone(),
        last_attempt: ctx.attempt() >= ctx.max_attempts(),
    };
    // Finished messages leave the job to the runtime's batched acknowledgement: if this
    // process dies before it, the next run finds the message finished and does nothing.
    match sender.batcher.prepare(&ctx, request).await? {
        Step::Done => Ok(()),
        Step::Skipped(message_type, reason) => {
            count(message_type, &format!("skipped_{}", reason.as_str()));
            Ok(())
        }
        Step::Unrenderable {
            error,
            failed: false,
        } => Err(JobError::failed(error)),
        Step::Unrenderable {
            error,
            failed: true,
        } => {
            tracing::error!(message = %job.message_id, %error, "message cannot be rendered; failed");
            Ok(())
        }
        Step::Defer(at) => defer(&ctx, &job, at).await,
        Step::Send(claimed) => {
            let result = sender
                .mailer
                .send(claimed.id, &claimed.to, &claimed.email)
                .await;
            let outcome = match result {
                Ok(()) => Outcome::Sent,
                Err(SendError::Transient(e)) if ctx.attempt() < ctx.max_attempts() => {
                    Outcome::Retry(e)
                }
                Err(SendError::Transient(e)) => Outcome::Failed {
                    error: format!("gave up after {} attempts: {e}", ctx.attempt()),
                    bounced: false,
                },
                Err(SendError::Permanent { reply, bounced }) => Outcome::Failed {
                    error: reply,
                    bounced,
                },
            };
            record(&ctx, &sender.batcher, &claimed, &outcome, request_id).await?;
            match outcome {
                Outcome::Sent => {
                    count(claimed.message_type, "sent");
                    let lag = (Utc::now() - claimed.due).to_std().unwrap_or_default();
                    histogram!("fieldwork_message_send_lag_seconds", "type" => claimed.message_type.as_str())
                        .record(lag.as_secs_f64());
                    Ok(())
                }
                Outcome::Retry(e) => Err(JobError::failed(e)),
                Outcome::Failed { .. } => {
                    count(claimed.message_type, "failed");
                    Ok(())
                }
            }
        }
    }
}

/// This job ends and its successor waits for the new time, atomically: the message never has
/// zero or two send jobs (completing frees the unique key for the successor).
async fn defer(ctx: &JobContext, job: &SendMessage, at: DateTime<Utc>) -> JobResult {
    let mut tx = ctx.begin().await?;
    if !tx.complete(ctx).await? {
        tx.rollback().await?;
        return Err(JobError::failed("job no longer held; not deferred"));
    }
    let options = JobOptions::default()
        .run_at(at)
        .unique_key(send_job_key(job.message_id));
    queue::enqueue_with(&mut tx, job, options).await?;
    tx.commit_completed(ctx, true).await
}

/// Records the outcome of the exchange. A database hiccup here after the server accepted the
/// mail would make the retry send it again, so the write is tried a few times first.
async fn record(
    ctx: &JobContext,
    batcher: &Batcher,
    claimed: &Claimed,
    outcome: &Outcome,
    request_id: Option<String>,
) -> JobResult {
    let mut delay = Duration::from_millis(200);
    for attempt in 1..=4 {
        match batcher
            .record(ctx, claimed, outcome, request_id.clone())
            .await
        {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 4 => {
                tracing::warn!(message = %claimed.id, error = e.message(), "recording the send outcome failed; trying again");
                tokio::time::sleep(delay).await;
                delay *= 3;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
