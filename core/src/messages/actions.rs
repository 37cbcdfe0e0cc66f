//! Message actions: schedule a custom message, cancel a pending one, send one now. Each runs in
//! the caller's transaction, asks the state machine (`MessageStatus::TRANSITIONS`) first, keeps
//! the send job in step, and is audited under its name.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::job::{cancel_send, reschedule_send};
use super::service::insert;
use super::{MessageCreate, MessageEvent, MessageType, ScheduledMessage, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::entity::{self, Lock};
use crate::error::Result;
use crate::fields::JsonInput;
use crate::ids::Actor;
use crate::lifecycle::transition;

/// Payload of `message.schedule_custom`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCustomMessage {
    pub customer_id: Uuid,
    pub subject: String,
    pub body: String,
    pub scheduled_for: DateTime<Utc>,
    #[serde(default)]
    pub ticket_id: Option<Uuid>,
    #[serde(default)]
    pub invoice_id: Option<Uuid>,
}
impl JsonInput for ScheduleCustomMessage {}

/// Payload of `message.cancel` and `message.send_now`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageRef {
    pub message_id: Uuid,
}
impl JsonInput for MessageRef {}

/// Schedules a custom email to an active customer.
pub async fn schedule_custom(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ScheduleCustomMessage,
) -> Result<ScheduledMessage> {
    let create = MessageCreate {
        customer_id: input.customer_id,
        message_type: MessageType::Custom,
        channel: None,
        scheduled_for: input.scheduled_for,
        subject: Some(input.subject),
        body: Some(input.body),
        ticket_id: input.ticket_id,
        invoice_id: input.invoice_id,
    };
    insert(conn, actor, create, AuditAction::Action("schedule_custom")).await
}

/// Cancels a pending message.
pub async fn cancel(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageRef,
) -> Result<ScheduledMessage> {
    let current = entity::get::<ScheduledMessage>(conn, input.message_id, Lock::ForUpdate).await?;
    cancel_message(conn, actor, &current, "cancel").await
}

/// Cancels `current` (locked by the caller) and its send job, audited under `action`.
pub(super) async fn cancel_message(
    conn: &mut PgConnection,
    actor: &Actor,
    current: &ScheduledMessage,
    action: &'static str,
) -> Result<ScheduledMessage> {
    let status = transition(current.status, MessageEvent::Cancel)?;
    let updated: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages SET status = $2 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await?;
    cancel_send(conn, current.id).await?;
    audited(conn, actor, current, &updated, action).await?;
    Ok(updated)
}

/// Makes a pending message due now, quiet hours or not; the sender picks it up at once (and
/// still re-checks it: an opted-out customer is skipped all the same).
pub async fn send_now(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageRef,
) -> Result<ScheduledMessage> {
    let current = entity::get::<ScheduledMessage>(conn, input.message_id, Lock::ForUpdate).await?;
    transition(current.status, MessageEvent::SendNow)?;
    let updated: ScheduledMessage = sqlx::query_as(concat!(
        "UPDATE scheduled_messages SET scheduled_for = now(), ignore_quiet_hours = true
          WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .fetch_one(&mut *conn)
    .await?;
    reschedule_send(conn, updated.id, updated.scheduled_for).await?;
    audited(conn, actor, &current, &updated, "send_now").await?;
    Ok(updated)
}

async fn audited(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &ScheduledMessage,
    after: &ScheduledMessage,
    action: &'static str,
) -> Result<()> {
    let changes = compute_changes(&snapshot(before)?, &snapshot(after)?);
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
