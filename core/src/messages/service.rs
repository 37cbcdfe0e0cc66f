//! Scheduled-message queries, in the caller's tenant transaction; writes are audited there.
//! A message may only name the tenant's own live customer (active), ticket and invoice, and
//! the ticket or invoice must belong to that customer. Every write keeps the message's send
//! job in step (`job`): created with it, moved with it, cancelled with it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::job::{cancel_send, enqueue_send, reschedule_send};
use super::{
    Channel, MessageCreate, MessageEvent, MessagePatch, MessageStatus, MessageType,
    ScheduledMessage, columns,
};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::{Error, Result};
use crate::fields::{self, Checker, FieldError, Patch};
use crate::ids::{Actor, new_id};
use crate::pagination::{Cursor, ListParams, Page, query_param, uuid_param};
use crate::state::transition;
use crate::{customers, invoices, tickets, values};

pub(super) const NOT_FOUND: Error = Error::NotFound("message not found");

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

    customers::lock_for_new_work(conn, input.customer_id).await?;
    let mut appointment_at = None;
    if let Some(ticket_id) = input.ticket_id {
        let ticket = tickets::get(conn, ticket_id).await?;
        if ticket.customer_id != input.customer_id {
            return Err(Error::field("ticket_id", "belongs to another customer"));
        }
        // The time an appointment message is about: if the ticket moves, the message is stale.
        if input.message_type.is_appointment() {
            appointment_at = ticket.scheduled_at;
        }
        if input.message_type == MessageType::AppointmentCancellation
            && ticket.status != tickets::TicketStatus::Cancelled
        {
            return Err(Error::field(
                "ticket_id",
                "a cancellation notice needs a cancelled ticket",
            ));
        }
    }
    if let Some(invoice_id) = input.invoice_id
        && invoices::get(conn, invoice_id).await?.customer_id != input.customer_id
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
    let changes = compute_changes(&Value::Null, &snapshot(&message)?);
    audit::log_change(
        conn,
        actor,
        "scheduled_message",
        message.id,
        action,
        changes,
    )
    .await?;
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
    fetch(conn, id, false).await?.ok_or(NOT_FOUND)
}

pub(super) async fn fetch(
    conn: &mut PgConnection,
    id: Uuid,
    for_update: bool,
) -> Result<Option<ScheduledMessage>> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            columns!(),
            " FROM scheduled_messages WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM scheduled_messages WHERE id = $1 AND deleted_at IS NULL"
        )
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Optional filters of `GET /api/data/scheduled_messages`: `customer_id`, `status`.
#[derive(Debug, Clone, Default)]
pub struct MessageFilter {
    pub customer_id: Option<Uuid>,
    pub status: Option<MessageStatus>,
}

impl MessageFilter {
    pub fn from_query(query: &HashMap<String, String>) -> Result<MessageFilter> {
        let customer_id = uuid_param(query, "customer_id")?;
        let status = query_param(
            query,
            "status",
            MessageStatus::parse,
            "must be a message status such as pending",
        )?;
        Ok(MessageFilter {
            customer_id,
            status,
        })
    }
}

/// A page of the tenant's live scheduled_messages after `$1`, optionally in status `$3`; `$2` (the
/// customer filter) is null. Keyset on the tenant's `(user_id, id)` index.
pub const LIST_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM scheduled_messages
              WHERE user_id = app_current_user_id() AND id > $1 AND $2::uuid IS NULL
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, id LIMIT $4"
);

/// A page of one customer's (`$2`) live scheduled_messages after `$1`, optionally in status `$3`. Keyset
/// on the tenant's `(user_id, customer_id, id)` index.
pub const LIST_BY_CUSTOMER_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM scheduled_messages
              WHERE user_id = app_current_user_id() AND customer_id = $2 AND id > $1
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, customer_id, id LIMIT $4"
);

/// Live messages in creation order, optionally filtered.
pub async fn list(
    conn: &mut PgConnection,
    filter: &MessageFilter,
    params: &ListParams,
) -> Result<Page<ScheduledMessage>> {
    let after = Cursor::keyset_start(params.cursor)?;
    // The tenant stated and a keyset on one of its indexes, (user_id, id) or — for one
    // customer's rows — (user_id, customer_id, id): an index range scan whatever the
    // statistics say, the same cost for the first and the thousandth page.
    let sql = if filter.customer_id.is_some() {
        LIST_BY_CUSTOMER_SQL
    } else {
        LIST_SQL
    };
    let rows: Vec<ScheduledMessage> = sqlx::query_as(sql)
        .bind(after)
        .bind(filter.customer_id)
        .bind(filter.status.map(MessageStatus::as_str))
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |m| Cursor::After(m.id)))
}

/// Changes a pending message's time (and a custom message's subject and body); audits only
/// the fields that actually changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: MessagePatch,
) -> Result<ScheduledMessage> {
    let current = fetch(conn, id, true).await?.ok_or(NOT_FOUND)?;
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
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(
            conn,
            actor,
            "scheduled_message",
            id,
            AuditAction::Update,
            changes,
        )
        .await?;
    }
    Ok(updated)
}

/// Soft delete of a pending message; anything the sender has touched is kept as history.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let current = fetch(conn, id, true).await?.ok_or(NOT_FOUND)?;
    transition(current.status, MessageEvent::Delete)?;
    let deleted_at: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE scheduled_messages SET deleted_at = now() WHERE id = $1 RETURNING deleted_at",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    cancel_send(conn, id).await?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(
        conn,
        actor,
        "scheduled_message",
        id,
        AuditAction::Delete,
        changes,
    )
    .await?;
    Ok(())
}
