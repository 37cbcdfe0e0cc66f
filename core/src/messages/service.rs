//! Scheduled-message queries, in the caller's tenant transaction; writes are audited there.
//! A message may only name the tenant's own live customer (active), ticket and invoice, and
//! the ticket or invoice must belong to that customer. Every write keeps the message's send
//! job in step (`job`): created with it, moved with it, cancelled with it.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::job::{cancel_send, enqueue_send, reschedule_send};
use super::references;
use super::{
    Channel, MessageCreate, MessageEvent, MessagePatch, MessageStatus, MessageType,
    ScheduledMessage, columns,
};
use crate::audit::AuditAction;
use crate::entity::{self, CustomerStatusFilter, Lock};
use crate::error::{Error, Result};
use crate::fields::{self, Checker, FieldError, Patch};
use crate::ids::{Actor, new_id};
use crate::lifecycle::transition;
use crate::pagination::{ListParams, Page};
use crate::values;

fn subject(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, 200, false)
}
fn body(v: String) -> Result<String, FieldError> {
    fields::text(v, 1, 10_000, true)
}

/// Creates a message (audited as `create`).
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageCreate,
) -> Result<ScheduledMessage> {
    insert(conn, actor, input, AuditAction::Create).await
}

/// Checks and writes a new pending message and its send job, audited under `action`.
pub(super) async fn insert(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageCreate,
    action: AuditAction,
) -> Result<ScheduledMessage> {
    insert_with(conn, actor, input, None, action).await
}

/// [`insert`] of a confirmation that says the visit moved from `previous_appointment_at`.
pub(super) async fn insert_with(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageCreate,
    previous_appointment_at: Option<DateTime<Utc>>,
    action: AuditAction,
) -> Result<ScheduledMessage> {
    let mut c = Checker::new();
    let scheduled_for = c.check("scheduled_for", values::timestamp(input.scheduled_for));
    let custom = input.message_type == MessageType::Custom;
    let (subject, body) = if custom {
        let s = match input.subject {
            Some(v) => c.check("subject", subject(v)),
            None => {
                c.add("subject", "is required for custom messages");
                None
            }
        };
        let b = match input.body {
            Some(v) => c.check("body", body(v)),
            None => {
                c.add("body", "is required for custom messages");
                None
            }
        };
        (s, b)
    } else {
        for (field, value) in [("subject", &input.subject), ("body", &input.body)] {
            if value.is_some() {
                c.add(field, "only custom messages have one");
            }
        }
        (None, None)
    };
    if input.message_type.is_appointment() && input.ticket_id.is_none() {
        c.add("ticket_id", "is required for appointment messages");
    }
    if input.message_type.is_about_invoice() && input.invoice_id.is_none() {
        c.add(
            "invoice_id",
            "is required for invoices and payment reminders",
        );
    }
    c.finish()?;

    references::lock_recipient(conn, input.customer_id).await?;
    let mut appointment_at = None;
    if let Some(ticket_id) = input.ticket_id {
        let ticket = references::ticket(conn, ticket_id).await?;
        if ticket.customer_id != input.customer_id {
            return Err(Error::field("ticket_id", "belongs to another customer"));
        }
        // The time an appointment message is about: if the ticket moves, the message is stale.
        if input.message_type.is_appointment() {
            appointment_at = ticket.scheduled_at;
        }
        if input.message_type == MessageType::AppointmentCancellation && !ticket.cancelled {
            return Err(Error::field(
                "ticket_id",
                "a cancellation notice needs a cancelled ticket",
            ));
        }
    }
    if let Some(invoice_id) = input.invoice_id
        && references::invoice_customer(conn, invoice_id).await? != input.customer_id
    {
        return Err(Error::field("invoice_id", "belongs to another customer"));
    }
    let message: ScheduledMessage = sqlx::query_as(concat!(
        "INSERT INTO scheduled_messages
                (id, user_id, customer_id, ticket_id, invoice_id, message_type, channel,
                 scheduled_for, subject, body, appointment_at, previous_appointment_at)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING ",
        columns!()
    ))
    .bind(new_id())
    .bind(input.customer_id)
    .bind(input.ticket_id)
    .bind(input.invoice_id)
    .bind(input.message_type.as_str())
    .bind(input.channel.unwrap_or(Channel::Email).as_str())
    .bind(scheduled_for)
    .bind(&subject)
    .bind(&body)
    .bind(appointment_at)
    .bind(previous_appointment_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(missing_reference)?;
    enqueue_send(conn, message.id, message.scheduled_for).await?;
    entity::log_created_as(conn, actor, &message, action).await?;
    Ok(message)
}

/// A foreign-key violation means a referenced row the tenant cannot see: not found.
fn missing_reference(err: sqlx::Error) -> Error {
    let what = match &err {
        sqlx::Error::Database(db) => match db.constraint() {
            Some("scheduled_messages_customer_fkey") => Some("customer not found"),
            Some("scheduled_messages_ticket_fkey") => Some("ticket not found"),
            Some("scheduled_messages_invoice_fkey") => Some("invoice not found"),
            _ => None,
        },
        _ => None,
    };
    match what {
        Some(what) => Error::NotFound(what),
        None => Error::Database(err),
    }
}

/// A live message of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<ScheduledMessage> {
    entity::get::<ScheduledMessage>(conn, id, Lock::Read).await
}

/// Optional filters of `GET /api/data/scheduled_messages`: `customer_id`, `status`.
pub type MessageFilter = CustomerStatusFilter<MessageStatus>;

/// Live messages in creation order, optionally filtered.
pub async fn list(
    conn: &mut PgConnection,
    filter: &MessageFilter,
    params: &ListParams,
) -> Result<Page<ScheduledMessage>> {
    entity::filtered_page(conn, filter, params).await
}

/// Changes a pending message's time (and a custom message's subject and body); audits only
/// the fields that actually changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: MessagePatch,
) -> Result<ScheduledMessage> {
    let current = entity::get::<ScheduledMessage>(conn, id, Lock::ForUpdate).await?;
    let mut c = Checker::new();
    let scheduled_for = c.patch_required(
        "scheduled_for",
        patch.scheduled_for,
        current.scheduled_for,
        values::timestamp,
    );
    let custom = current.message_type == MessageType::Custom;
    let (subject, body) = if custom {
        (
            c.patch_required(
                "subject",
                patch.subject,
                current.subject.clone().unwrap_or_default(),
                subject,
            ),
            c.patch_required(
                "body",
                patch.body,
                current.body.clone().unwrap_or_default(),
                body,
            ),
        )
    } else {
        for (field, sent) in [
            ("subject", !matches!(patch.subject, Patch::Absent)),
            ("body", !matches!(patch.body, Patch::Absent)),
        ] {
            if sent {
                c.add(field, "only custom messages have one");
            }
        }
        (String::new(), String::new())
    };
    c.finish()?;
    transition(current.status, MessageEvent::Edit)?;
    let updated: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages SET scheduled_for = $2, subject = $3, body = $4
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(scheduled_for)
    .bind(custom.then_some(subject))
    .bind(custom.then_some(body))
    .fetch_one(&mut *conn)
    .await?;
    if updated.scheduled_for != current.scheduled_for {
        reschedule_send(conn, id, updated.scheduled_for).await?;
    }
    entity::log_updated(conn, actor, &current, &updated).await?;
    Ok(updated)
}

/// Soft delete of a pending message; anything the sender has touched is kept as history.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let current = entity::get::<ScheduledMessage>(conn, id, Lock::ForUpdate).await?;
    transition(current.status, MessageEvent::Delete)?;
    entity::soft_delete::<ScheduledMessage>(conn, actor, id).await?;
    cancel_send(conn, id).await?;
    Ok(())
}
