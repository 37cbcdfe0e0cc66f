//! INTERIM until issue 8 (scheduled messages) lands: the lead replaces this file with issue
//! 8's `schedule_service_reminder` at merge. The signature is the contract both branches
//! share; confirming a ticket's `next_service_due` calls exactly this.
//!
//! This stand-in cancels the customer's other pending service reminders and schedules one at
//! 09:00 UTC of `due_on` (issue 8 schedules 09:00 in the customer's time zone and enqueues its
//! send job), each change audited in the caller's transaction.

use chrono::{NaiveDate, NaiveTime};
use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::{MessageRef, cancel};
use super::service::insert;
use super::{MessageCreate, MessageType, ScheduledMessage};
use crate::audit::AuditAction;
use crate::error::Result;
use crate::ids::Actor;

/// Schedules (or moves) the customer's service reminder to 09:00 on `due_on`: every other
/// pending service reminder of the customer is cancelled, a new pending one is created.
pub async fn schedule_service_reminder(
    conn: &mut PgConnection,
    actor: &Actor,
    customer_id: Uuid,
    ticket_id: Option<Uuid>,
    due_on: NaiveDate,
) -> Result<ScheduledMessage> {
    let pending: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM scheduled_messages
          WHERE customer_id = $1 AND message_type = 'service_reminder' AND status = 'pending'
            AND deleted_at IS NULL
          ORDER BY id FOR UPDATE",
    )
    .bind(customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for message_id in pending {
        cancel(conn, actor, MessageRef { message_id }).await?;
    }
    let at = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let create = MessageCreate {
        customer_id,
        message_type: MessageType::ServiceReminder,
        channel: None,
        scheduled_for: due_on.and_time(at).and_utc(),
        subject: None,
        body: None,
        ticket_id,
        invoice_id: None,
    };
    insert(conn, actor, create, AuditAction::Create).await
}
