//! `extract_ticket_attributes`: reads a ticket's notes under its tenant, asks the configured
//! extractor (no transaction is held during the call), and stores the proposal — or, once
//! trying again cannot help, `extraction.status = failed` with the reason — in one transaction
//! with the job's completion. The write is fenced on the ticket id and the notes' hash (see
//! `fieldwork_core::tickets::extraction`): a job can only ever write its own ticket, and only
//! while that ticket still waits for an answer to exactly these notes.
//!
//! Retries have one owner, the job engine:
//! - the provider is busy and says when to come back (`Retry-After` on a 429 or 5xx): the job
//!   snoozes that long (not a spent attempt), for at most [`SNOOZE_WINDOW`] after it was
//!   enqueued, then such answers count as failures too;
//! - the provider is unavailable (5xx, timeout, unreachable): a failed attempt, retried with
//!   the kind's backoff until `max_attempts`;
//! - the answer is unusable (cut off, not JSON, a refusal, schema-invalid): retried up to
//!   [`UNUSABLE_ATTEMPTS`] attempts in all;
//! - the provider rejects the request (another 4xx): no retry.
//!
//! The ticket and its close-out are never affected; the notes never reach a log line.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use fieldwork_core::ids::Actor;
use fieldwork_core::tickets::extraction::{
    ExtractTicketAttributes, ExtractionOutcome, extraction_input, store_outcome,
};

use crate::clients::extractor::{AttributeExtractor, ExtractError};
use crate::handler::{JobContext, JobError, JobResult};
use crate::registry::Registry;

/// How long after enqueueing a provider's `Retry-After` is honoured by snoozing.
pub const SNOOZE_WINDOW: Duration = Duration::from_secs(6 * 3600);
/// Longest single snooze, whatever the provider asks.
const MAX_SNOOZE: Duration = Duration::from_secs(3600);
/// Attempts in all for answers that cannot become a proposal.
pub const UNUSABLE_ATTEMPTS: i32 = 3;

/// Registers the kind with the extractor it uses.
pub fn register(registry: &mut Registry, extractor: Arc<dyn AttributeExtractor>) {
    registry.register(move |job: ExtractTicketAttributes, ctx: JobContext| {
        let extractor = extractor.clone();
        async move { run(job, ctx, extractor).await }
    });
}

async fn run(
    job: ExtractTicketAttributes,
    ctx: JobContext,
    extractor: Arc<dyn AttributeExtractor>,
) -> JobResult {
    let Some(user) = ctx.user_id() else {
        return Err(JobError::discard(
            "extraction runs under the ticket's tenant",
        ));
    };
    let mut tx = ctx.begin().await?;
    let input = extraction_input(&mut tx, &job).await?;
    tx.commit().await?;
    let Some(input) = input else {
        // Deleted, notes changed since, or already answered: a newer job (if any) answers.
        return Ok(());
    };
    let info = extractor.info();
    let outcome = match extractor.extract(&input).await {
        Ok(proposal) => ExtractionOutcome::Proposed(proposal),
        Err(e) => ExtractionOutcome::Failed(give_up_or_retry(&e, &ctx)?),
    };
    let actor = Actor::new(user, Some(format!("job-{}", ctx.id())));
    let mut tx = ctx.begin().await?;
    store_outcome(&mut tx, &actor, &job, &info, outcome).await?;
    tx.complete_and_commit(&ctx).await
}

/// `Err` to run again (the engine schedules it), `Ok(reason)` to record the failure.
fn give_up_or_retry(e: &ExtractError, ctx: &JobContext) -> Result<String, JobError> {
    let attempt = ctx.attempt();
    let last = attempt >= ctx.max_attempts();
    match e {
        ExtractError::Unavailable {
            retry_after: Some(delay),
            reason,
        } if !last || within_snooze_window(ctx) => {
            if within_snooze_window(ctx) {
                let delay = (*delay).clamp(Duration::from_secs(1), MAX_SNOOZE);
                tracing::info!(job = %ctx.id(), delay_s = delay.as_secs_f64(), "{reason}; snoozing");
                Err(JobError::snooze(delay))
            } else {
                Err(JobError::retry_after(*delay, reason.clone()))
            }
        }
        ExtractError::Unavailable { reason, .. } if !last => Err(JobError::failed(reason.clone())),
        ExtractError::Unusable { reason }
            if attempt < UNUSABLE_ATTEMPTS.min(ctx.max_attempts()) =>
        {
            Err(JobError::failed(reason.clone()))
        }
        ExtractError::Rejected { reason } => Ok(reason.clone()),
        other => Ok(format!(
            "{} (gave up after {attempt} attempts)",
            other.reason()
        )),
    }
}

fn within_snooze_window(ctx: &JobContext) -> bool {
    (Utc::now() - ctx.created_at())
        .to_std()
        .is_ok_and(|age| age < SNOOZE_WINDOW)
}
