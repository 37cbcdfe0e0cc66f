//! Sending, as the worker's `message.send` job does it, in two short transactions around the
//! SMTP exchange: [`prepare`] locks the message, re-checks everything that may have lapsed
//! since it was scheduled (ending it `skipped` with a [`SkipReason`]), defers it past quiet
//! hours or to its new time, or claims it (`pending → sending`) and renders it; after the
//! exchange, [`record_sent`], [`record_retry`] or [`record_failed`] write the outcome.
//! docs/ARCHITECTURE.md ("Never twice") explains the one crash window that can duplicate.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::data::{self, MessageData};
use super::render::{self, RenderedEmail};
use super::settings::MessageSettings;
use super::{MessageEvent, MessageStatus, MessageType, ScheduledMessage, SkipReason, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::Result;
use crate::ids::Actor;
use crate::state::transition;

/// A job that runs up to this much before its message's due time sends it anyway (clocks of
/// workers and database differ a little).
const EARLY_TOLERANCE: Duration = Duration::seconds(1);

/// What the send job does next.
#[derive(Debug)]
pub enum Step {
    /// Nothing: the message was cancelled, deleted or already finished.
    Done,
    /// Not due yet (it was moved, or its due time is in quiet hours): run again then.
    Defer(DateTime<Utc>),
    /// Ended `skipped` (written and audited in the caller's transaction).
    Skipped(MessageType, SkipReason),
    /// Claimed (`sending`, written and audited): commit, send it, record the outcome.
    Send(Box<Claimed>),
}

/// A claimed message, rendered.
#[derive(Debug)]
pub struct Claimed {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub message_type: MessageType,
    /// When it was due (after quiet hours): the send lag is measured from here.
    pub due: DateTime<Utc>,
    /// The address it goes to (present: a message without one is skipped).
    pub to: String,
    pub email: RenderedEmail,
}

/// Locks message `id`, re-checks it and decides (see [`Step`]). Runs in the job's tenant
/// transaction; `actor` is the system actor the audit rows name.
pub async fn prepare(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &MessageSettings,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<Step> {
    let Some(data) = data::load(conn, id, true).await? else {
        return Ok(Step::Done);
    };
    let status = data.message.status;
    if !matches!(status, MessageStatus::Pending | MessageStatus::Sending) {
        return Ok(Step::Done);
    }
    let due = render::due_at(&data, settings);
    // A `sending` message was claimed by a sender that died: it was due then.
    if status == MessageStatus::Pending && due > now + EARLY_TOLERANCE {
        return Ok(Step::Defer(due));
    }
    if let Some(reason) = skip_reason(&data, settings, now, due) {
        skip(conn, actor, &data.message, reason).await?;
        return Ok(Step::Skipped(data.message.message_type, reason));
    }
    let lines = render::lines_for(conn, &data).await?;
    let email = render::render(&data, &lines, settings)?;
    let to = email.to.clone().unwrap_or_default();
    let next = transition(status, MessageEvent::Claim)?;
    let claimed: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages SET status = $2, attempts = attempts + 1
          WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(next.as_str())
    .fetch_one(&mut *conn)
    .await?;
    audit_message(conn, actor, &data.message, &claimed, "claim").await?;
    Ok(Step::Send(Box::new(Claimed {
        id,
        customer_id: data.message.customer_id,
        message_type: data.message.message_type,
        due,
        to,
        email,
    })))
}

/// Why `data`'s message must not be sent now, if anything lapsed. `due` is its due time
/// after quiet hours; lateness beyond the type's catch-up limit is `too_late`.
pub fn skip_reason(
    data: &MessageData,
    settings: &MessageSettings,
    now: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Option<SkipReason> {
    use SkipReason as R;
    let m = &data.message;
    if data.customer_deleted_at.is_some() {
        return Some(R::CustomerDeleted);
    }
    if data.customer_archived_at.is_some() {
        return Some(R::CustomerArchived);
    }
    if data.customer_email_opt_out {
        return Some(R::OptedOut);
    }
    if data.customer_email.as_deref().is_none_or(str::is_empty) {
        return Some(R::NoEmail);
    }
    if data.customer_email_bounced_at.is_some() {
        return Some(R::Bounced);
    }
    let ticket_booked = data.ticket_deleted_at.is_none()
        && matches!(data.ticket_status.as_deref(), Some("scheduled" | "in_progress"));
    let invoice_status = if data.invoice_deleted_at.is_some() {
        None
    } else {
        data.invoice_status.as_deref()
    };
    let type_reason = match m.message_type {
        MessageType::AppointmentConfirmation | MessageType::AppointmentReminder => {
            if !ticket_booked {
                Some(R::TicketNotScheduled)
            } else if data.ticket_scheduled_at != m.appointment_at {
                Some(R::AppointmentMoved)
            } else if data.ticket_scheduled_at.is_some_and(|at| at <= now) {
                Some(R::TooLate)
            } else {
                None
            }
        }
        // Telling a customer a visit is off makes no sense once its time has passed.
        MessageType::AppointmentCancellation => m
            .appointment_at
            .is_none_or(|at| at <= now)
            .then_some(R::TooLate),
        MessageType::PaymentReminder => (invoice_status != Some("sent")).then_some(R::InvoiceNotSent),
        // The invoice itself still goes out once paid (a receipt), not once void.
        MessageType::Invoice => {
            (!matches!(invoice_status, Some("sent" | "paid"))).then_some(R::InvoiceNotSent)
        }
        MessageType::ServiceReminder => data.booked_later.then_some(R::AlreadyBooked),
        MessageType::Custom => None,
    };
    if type_reason.is_some() {
        return type_reason;
    }
    match settings.catch_up.limit(m.message_type) {
        Some(limit) if now - due > limit => Some(R::TooLate),
        _ => None,
    }
}

async fn skip(
    conn: &mut PgConnection,
    actor: &Actor,
    current: &ScheduledMessage,
    reason: SkipReason,
) -> Result<()> {
    let next = transition(current.status, MessageEvent::Skip)?;
    let skipped: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages SET status = $2, skip_reason = $3 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(next.as_str())
    .bind(reason.as_str())
    .fetch_one(&mut *conn)
    .await?;
    audit_message(conn, actor, current, &skipped, "skip").await
}

/// The server accepted the message: `sending → sent`.
pub async fn record_sent(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    finish(conn, actor, id, MessageEvent::Deliver, None, "send").await
}

/// A transient failure (connect, timeout, 4xx): back to `pending` with the error; the job
/// retries with backoff and the next attempt re-checks everything again.
pub async fn record_retry(conn: &mut PgConnection, actor: &Actor, id: Uuid, error: &str) -> Result<()> {
    finish(conn, actor, id, MessageEvent::Retry, Some(error), "retry").await
}

/// A permanent failure (5xx, or transient ones until the attempts ran out): `failed` with the
/// reply. With `bounced_address`, the server refused that mailbox: the customer's address is
/// marked bounced (if it is still the one we sent to), and later messages skip it.
pub async fn record_failed(
    conn: &mut PgConnection,
    actor: &Actor,
    claimed: &Claimed,
    error: &str,
    bounced_address: bool,
) -> Result<()> {
    finish(conn, actor, claimed.id, MessageEvent::Fail, Some(error), "fail").await?;
    if !bounced_address {
        return Ok(());
    }
    let bounced: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE customers SET email_bounced_at = now()
          WHERE id = $1 AND email = $2 AND email_bounced_at IS NULL
         RETURNING email_bounced_at",
    )
    .bind(claimed.customer_id)
    .bind(&claimed.to)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(at) = bounced {
        let mut changes = Map::new();
        changes.insert("email_bounced_at".into(), json!({"old": null, "new": at}));
        audit::log_change(
            conn,
            actor,
            "customer",
            claimed.customer_id,
            AuditAction::Action("email_bounced"),
            changes,
        )
        .await?;
    }
    Ok(())
}

async fn finish(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    event: MessageEvent,
    error: Option<&str>,
    action: &'static str,
) -> Result<()> {
    let current: ScheduledMessage = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM scheduled_messages WHERE id = $1 FOR UPDATE"
    ))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let next = transition(current.status, event)?;
    let updated: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages
            SET status = $2, last_error = coalesce($3, last_error),
                sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
          WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(next.as_str())
    .bind(error.map(truncate))
    .fetch_one(&mut *conn)
    .await?;
    audit_message(conn, actor, &current, &updated, action).await
}

/// `last_error` keeps the first 2,000 characters of a reply.
fn truncate(error: &str) -> String {
    error.chars().take(2000).collect()
}

async fn audit_message(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &ScheduledMessage,
    after: &ScheduledMessage,
    action: &'static str,
) -> Result<()> {
    let changes: Map<String, Value> = compute_changes(&snapshot(before)?, &snapshot(after)?);
    audit::log_change(
        conn,
        actor,
        "scheduled_message",
        after.id,
        AuditAction::Action(action),
        changes,
    )
    .await
}
