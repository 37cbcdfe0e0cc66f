//! Ticket actions: schedule, reschedule, start, cancel, close out (confirming and rejecting
//! extracted attributes are in `attributes`). Each
//! locks the ticket, asks the state machine (`TicketStatus::TRANSITIONS`) whether the action is
//! legal, writes, and audits under the action's name, all in the caller's transaction. An
//! illegal action fails before anything is written.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Ticket, TicketEvent, columns, extraction};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::customers;
use crate::entity::{self, Entity, Lock};
use crate::error::Result;
use crate::fields::{self, Checker, JsonInput};
use crate::ids::Actor;
use crate::lifecycle::transition;
use crate::messages::{MessageSettings, flows};
use crate::values;

/// Payload of `ticket.schedule` (a draft) and `ticket.reschedule` (a scheduled ticket).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleTicket {
    pub ticket_id: Uuid,
    pub scheduled_at: DateTime<Utc>,
    /// 1 to 10080; unchanged when absent.
    #[serde(default)]
    #[schema(value_type = Option<i32>)]
    pub duration_minutes: Option<crate::values::Minutes>,
}
impl JsonInput for ScheduleTicket {}

/// Payload of `ticket.start`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartTicket {
    pub ticket_id: Uuid,
}
impl JsonInput for StartTicket {}

/// Payload of `ticket.cancel`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelTicket {
    pub ticket_id: Uuid,
    #[serde(default)]
    pub reason: Option<String>,
}
impl JsonInput for CancelTicket {}

/// Payload of `ticket.close_out`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseOutTicket {
    pub ticket_id: Uuid,
    pub technician_notes: String,
}
impl JsonInput for CloseOutTicket {}

async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Ticket> {
    entity::find::<Ticket>(conn, id, Lock::ForUpdate)
        .await?
        .ok_or(Ticket::NOT_FOUND)
}

async fn audited(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Ticket,
    after: Ticket,
    action: &'static str,
) -> Result<Ticket> {
    let changes = compute_changes(&snapshot(before)?, &snapshot(&after)?);
    audit::log_change(
        conn,
        actor,
        "ticket",
        after.id,
        AuditAction::Action(action),
        changes,
    )
    .await?;
    Ok(after)
}

/// Books a draft for a time (→ `scheduled`). The customer must be active. Schedules the
/// confirmation and reminder (`messages::flows`).
pub async fn schedule(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ScheduleTicket,
    settings: &MessageSettings,
) -> Result<Ticket> {
    book(conn, actor, input, TicketEvent::Schedule, settings).await
}

/// Moves a scheduled ticket to another time. The customer must be active. The visit's pending
/// messages are replaced by ones for the new time.
pub async fn reschedule(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ScheduleTicket,
    settings: &MessageSettings,
) -> Result<Ticket> {
    book(conn, actor, input, TicketEvent::Reschedule, settings).await
}

async fn book(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ScheduleTicket,
    event: TicketEvent,
    settings: &MessageSettings,
) -> Result<Ticket> {
    let action = match event {
        TicketEvent::Reschedule => "reschedule",
        _ => "schedule",
    };
    let mut c = Checker::new();
    let at = c.check("scheduled_at", values::timestamp(input.scheduled_at));
    let duration = c.check_opt("duration_minutes", input.duration_minutes, |v| {
        values::duration_minutes(v.0).map(Some)
    });
    c.finish()?;
    let current = load(conn, input.ticket_id).await?;
    let status = transition(current.status, event)?;
    customers::lock_for_new_work(conn, current.customer_id).await?;
    let updated: Ticket = sqlx::query_as(concat!(
        "UPDATE tickets
            SET status = $2, scheduled_at = $3, duration_minutes = coalesce($4, duration_minutes)
          WHERE id = $1
          RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(status.as_str())
    .bind(at)
    .bind(duration)
    .fetch_one(&mut *conn)
    .await?;
    let updated = audited(conn, actor, &current, updated, action).await?;
    let moved_from = match event {
        TicketEvent::Reschedule => current.scheduled_at,
        _ => None,
    };
    // Rescheduling to the same time (say, a new duration) leaves the messages as they are.
    if event != TicketEvent::Reschedule || current.scheduled_at != updated.scheduled_at {
        flows::ticket_booked(conn, actor, settings, &updated.visit(), moved_from).await?;
    }
    Ok(updated)
}

/// Work has begun on site (`scheduled` → `in_progress`).
pub async fn start(conn: &mut PgConnection, actor: &Actor, input: StartTicket) -> Result<Ticket> {
    let current = load(conn, input.ticket_id).await?;
    let status = transition(current.status, TicketEvent::Start)?;
    let updated: Ticket = sqlx::query_as(concat!(
        "UPDATE tickets SET status = $2 WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(status.as_str())
    .fetch_one(&mut *conn)
    .await?;
    audited(conn, actor, &current, updated, "start").await
}

/// Cancels an open ticket (draft, scheduled or in progress).
pub async fn cancel(conn: &mut PgConnection, actor: &Actor, input: CancelTicket) -> Result<Ticket> {
    let mut c = Checker::new();
    let reason = c.check_opt("reason", input.reason, |v| {
        fields::optional_text(v, 500, true)
    });
    c.finish()?;
    let current = load(conn, input.ticket_id).await?;
    let status = transition(current.status, TicketEvent::Cancel)?;
    let updated: Ticket = sqlx::query_as(concat!(
        "UPDATE tickets SET status = $2, closed_at = now(), cancel_reason = $3
          WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(status.as_str())
    .bind(&reason)
    .fetch_one(&mut *conn)
    .await?;
    let updated = audited(conn, actor, &current, updated, "cancel").await?;
    flows::ticket_cancelled(conn, actor, &current.visit()).await?;
    Ok(updated)
}

/// Completes a scheduled or in-progress ticket with the technician's notes, requests
/// extraction of their attributes and schedules the customer's next service reminder (all in
/// the same transaction).
pub async fn close_out(
    conn: &mut PgConnection,
    actor: &Actor,
    input: CloseOutTicket,
    settings: &MessageSettings,
) -> Result<Ticket> {
    let mut c = Checker::new();
    let notes = c.check(
        "technician_notes",
        fields::text(input.technician_notes, 1, 10_000, true),
    );
    c.finish()?;
    let current = load(conn, input.ticket_id).await?;
    let status = transition(current.status, TicketEvent::CloseOut)?;
    let updated: Ticket = sqlx::query_as(concat!(
        "UPDATE tickets SET status = $2, closed_at = now(), technician_notes = $3
          WHERE id = $1 RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(status.as_str())
    .bind(&notes)
    .fetch_one(&mut *conn)
    .await?;
    let updated = extraction::request(conn, updated).await?;
    let updated = audited(conn, actor, &current, updated, "close_out").await?;
    flows::ticket_closed(conn, actor, settings, &updated.visit()).await?;
    Ok(updated)
}
