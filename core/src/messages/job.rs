//! The send job: every pending message has exactly one not-finished `message.send` job, keyed by
//! the message id and enqueued in the transaction that made the message pending. Creating,
//! rescheduling, sending now, cancelling and deleting go through these helpers, so the rule
//! holds whichever path changed the message.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::queue::{self, CancelOutcome, Job, JobOptions, backoff};

/// Payload of the `message.send` job: which message to send (everything else is read, and
/// re-checked, when it runs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SendMessage {
    pub message_id: Uuid,
}

impl Job for SendMessage {
    const KIND: &'static str = "message.send";
    const QUEUE: &'static str = "email";
    /// Retries span about 14 hours of SMTP trouble (1 s doubling to 1 h, then hourly) before
    /// the message is marked failed; catch-up limits may skip it as `too_late` earlier.
    const MAX_ATTEMPTS: i32 = 25;
    /// One SMTP exchange is bounded well below this (`SMTP_TIMEOUT_SECS`).
    const TIMEOUT: Duration = Duration::from_secs(120);

    fn backoff(attempt: i32) -> Duration {
        backoff::exponential(attempt, Duration::from_secs(1), Duration::from_secs(3600))
    }
}

/// The unique key of a message's send job.
pub fn send_job_key(message_id: Uuid) -> String {
    format!("message:{message_id}")
}

/// Enqueues the send job of a pending message, due at `at`, in the caller's transaction. If a
/// job with the key is still unfinished (it is running right now), that job stays the one: it
/// re-reads the message when it locks it and follows its new time.
pub async fn enqueue_send(
    conn: &mut PgConnection,
    message_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    let options = JobOptions::default()
        .run_at(at)
        .unique_key(send_job_key(message_id));
    queue::enqueue_with(conn, &SendMessage { message_id }, options).await?;
    Ok(())
}

/// Cancels the message's send job, if it has one waiting. A running one is asked to stop; it
/// finds the message no longer pending and ends without sending.
pub async fn cancel_send(
    conn: &mut PgConnection,
    message_id: Uuid,
) -> Result<Option<CancelOutcome>> {
    match queue::cancel_by_unique_key(conn, &send_job_key(message_id)).await {
        Ok((_, outcome)) => Ok(Some(outcome)),
        Err(Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Moves the send job to `at`: the waiting job is cancelled and a new one enqueued.
pub async fn reschedule_send(
    conn: &mut PgConnection,
    message_id: Uuid,
    at: DateTime<Utc>,
) -> Result<()> {
    cancel_send(conn, message_id).await?;
    enqueue_send(conn, message_id, at).await
}
