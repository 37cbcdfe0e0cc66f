//! The flows that create and cancel messages as tickets, invoices and customers change, each in
//! the transaction of the change that causes it (so a message exists iff its cause committed),
//! each message audited and visible in `scheduled_messages`:
//!
//! - a ticket booked (`ticket.schedule`, or created with `scheduled_at`): a confirmation now and
//!   a reminder `REMINDER_LEAD_HOURS` before the visit (none if that has passed);
//! - rescheduled: the visit's pending confirmation and reminder cancelled, a new confirmation
//!   ("your visit moved") and reminder;
//! - cancelled: its pending messages cancelled, and a cancellation notice if the visit was
//!   booked and still ahead; deleted: its pending messages cancelled;
//! - closed out: a service reminder at 09:00 local after the customer's service interval;
//! - an invoice sent: the invoice by email now, a payment reminder 3 days before it is due;
//!   paid: the reminders cancelled; void: every pending message about it cancelled;
//! - a customer archived, deleted or opted out: every pending message cancelled.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use super::actions::cancel_message;
use super::references::{self, Recipient};
use super::service::insert_with;
use super::settings::MessageSettings;
use super::time::{nine_am, reader_zone, today_in};
use super::{MessageCreate, MessageType, ScheduledMessage, columns};
use crate::audit::AuditAction;
use crate::error::{Error, Result};
use crate::ids::Actor;

/// What the flows need of a ticket (the tickets module makes one from its `Ticket`).
#[derive(Debug, Clone)]
pub struct Visit {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub scheduled_at: Option<DateTime<Utc>>,
    /// The ticket is `scheduled` (booked, not yet started).
    pub booked: bool,
}

/// What the flows need of an invoice (the invoices module makes one from its `Invoice`).
#[derive(Debug, Clone)]
pub struct Bill {
    pub id: Uuid,
    pub customer_id: Uuid,
    pub due_at: Option<DateTime<Utc>>,
}

/// How long before an invoice is due its payment reminder goes out.
pub const PAYMENT_REMINDER_BEFORE_DUE: Days = Days::new(3);

/// The customer new messages would go to, if still active (an archived customer gets none;
/// the change that triggered the flow goes ahead without them).
async fn active_customer(conn: &mut PgConnection, id: Uuid) -> Result<Option<Recipient>> {
    match references::lock_recipient(conn, id).await {
        Ok(c) => Ok(Some(c)),
        Err(Error::CustomerArchived | Error::NotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MessageCreate,
    previous_appointment_at: Option<DateTime<Utc>>,
    action: &'static str,
) -> Result<ScheduledMessage> {
    insert_with(
        conn,
        actor,
        input,
        previous_appointment_at,
        AuditAction::Action(action),
    )
    .await
}

fn message(customer_id: Uuid, message_type: MessageType, at: DateTime<Utc>) -> MessageCreate {
    MessageCreate {
        customer_id,
        message_type,
        channel: None,
        scheduled_for: at,
        subject: None,
        body: None,
        ticket_id: None,
        invoice_id: None,
    }
}

/// Which pending messages a cancellation applies to.
enum Scope<'a> {
    Ticket(Uuid, &'a [MessageType]),
    Invoice(Uuid, &'a [MessageType]),
    Customer(Uuid, &'a [MessageType]),
}

const APPOINTMENT_TYPES: &[MessageType] = &[
    MessageType::AppointmentConfirmation,
    MessageType::AppointmentReminder,
];
const ALL_TYPES: &[MessageType] = MessageType::ALL;

/// Cancels the pending messages in `scope` (and their send jobs), each audited.
async fn cancel_pending(conn: &mut PgConnection, actor: &Actor, scope: Scope<'_>) -> Result<usize> {
    let (sql, id, types) = match scope {
        Scope::Ticket(id, t) => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM scheduled_messages WHERE ticket_id = $1 AND message_type = ANY($2)
                   AND status = 'pending' AND deleted_at IS NULL ORDER BY id FOR UPDATE"
            ),
            id,
            t,
        ),
        Scope::Invoice(id, t) => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM scheduled_messages WHERE invoice_id = $1 AND message_type = ANY($2)
                   AND status = 'pending' AND deleted_at IS NULL ORDER BY id FOR UPDATE"
            ),
            id,
            t,
        ),
        Scope::Customer(id, t) => (
            concat!(
                "SELECT ",
                columns!(),
                " FROM scheduled_messages WHERE customer_id = $1 AND message_type = ANY($2)
                   AND status = 'pending' AND deleted_at IS NULL ORDER BY id FOR UPDATE"
            ),
            id,
            t,
        ),
    };
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    let pending: Vec<ScheduledMessage> = sqlx::query_as(sql)
        .bind(id)
        .bind(names)
        .fetch_all(&mut *conn)
        .await?;
    for m in &pending {
        cancel_message(conn, actor, m, "cancel").await?;
    }
    Ok(pending.len())
}

/// A ticket was booked or moved (`previous_at`: the time it moved from). Replaces the visit's
/// pending confirmation and reminder with ones for its new time.
pub async fn ticket_booked(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &MessageSettings,
    ticket: &Visit,
    previous_at: Option<DateTime<Utc>>,
) -> Result<()> {
    let Some(at) = ticket.scheduled_at else {
        return Ok(());
    };
    cancel_pending(conn, actor, Scope::Ticket(ticket.id, APPOINTMENT_TYPES)).await?;
    if active_customer(conn, ticket.customer_id).await?.is_none() {
        return Ok(());
    }
    let now = Utc::now();
    let mut confirmation = message(
        ticket.customer_id,
        MessageType::AppointmentConfirmation,
        now,
    );
    confirmation.ticket_id = Some(ticket.id);
    let action = if previous_at.is_some() {
        "reschedule"
    } else {
        "schedule"
    };
    create(conn, actor, confirmation, previous_at, action).await?;
    let remind_at = at - settings.reminder_lead;
    if remind_at > now {
        let mut reminder = message(
            ticket.customer_id,
            MessageType::AppointmentReminder,
            remind_at,
        );
        reminder.ticket_id = Some(ticket.id);
        create(conn, actor, reminder, None, action).await?;
    }
    Ok(())
}

/// A ticket was cancelled (`before`: the ticket as it was): its pending messages go, and a
/// customer whose visit was booked and still ahead is told it is off.
pub async fn ticket_cancelled(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Visit,
) -> Result<()> {
    cancel_pending(conn, actor, Scope::Ticket(before.id, ALL_TYPES)).await?;
    let ahead = before.scheduled_at.is_some_and(|at| at > Utc::now());
    if !before.booked || !ahead {
        return Ok(());
    }
    if active_customer(conn, before.customer_id).await?.is_none() {
        return Ok(());
    }
    let mut notice = message(
        before.customer_id,
        MessageType::AppointmentCancellation,
        Utc::now(),
    );
    notice.ticket_id = Some(before.id);
    create(conn, actor, notice, None, "cancel").await?;
    Ok(())
}

/// A ticket was deleted: nothing is sent about it any more.
pub async fn ticket_deleted(conn: &mut PgConnection, actor: &Actor, ticket_id: Uuid) -> Result<()> {
    cancel_pending(conn, actor, Scope::Ticket(ticket_id, ALL_TYPES)).await?;
    Ok(())
}

/// A ticket was closed out: any reminder still pending for the visit goes, and the customer
/// gets a service reminder after their interval (`attributes.service_interval_days`, else
/// `SERVICE_REMINDER_DAYS`), counted from today in their zone.
pub async fn ticket_closed(
    conn: &mut PgConnection,
    actor: &Actor,
    settings: &MessageSettings,
    ticket: &Visit,
) -> Result<()> {
    cancel_pending(conn, actor, Scope::Ticket(ticket.id, APPOINTMENT_TYPES)).await?;
    let Some(customer) = active_customer(conn, ticket.customer_id).await? else {
        return Ok(());
    };
    let days =
        service_interval_days(&customer.attributes).unwrap_or(settings.service_reminder_days);
    let zone = reader_zone(
        customer.timezone.as_deref(),
        business_zone(conn).await?.as_deref(),
    );
    let due_on = today_in(zone, Utc::now())
        .checked_add_days(Days::new(u64::from(days)))
        .ok_or_else(|| Error::Internal("service reminder date out of range".into()))?;
    schedule_service_reminder(conn, actor, customer.id, Some(ticket.id), due_on).await?;
    Ok(())
}

/// `attributes.service_interval_days`: a whole number of days from 1 to 3650 (a number or a
/// numeric string); anything else is ignored.
pub fn service_interval_days(attributes: &Value) -> Option<u32> {
    let v = attributes.get("service_interval_days")?;
    let days = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }?;
    u32::try_from(days).ok().filter(|d| (1..=3650).contains(d))
}

async fn business_zone(conn: &mut PgConnection) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT timezone FROM users WHERE id = app_current_user_id()")
            .fetch_optional(conn)
            .await?,
    )
}

/// Schedules the customer's service reminder for 09:00 on `due_on` in their zone (else the
/// business's, else UTC), with its send job, audited; their other pending service reminders
/// (and jobs) are cancelled — a customer has at most one. 404 for a missing customer,
/// `CUSTOMER_ARCHIVED` for an archived one.
pub async fn schedule_service_reminder(
    conn: &mut PgConnection,
    actor: &Actor,
    customer_id: Uuid,
    ticket_id: Option<Uuid>,
    due_on: NaiveDate,
) -> Result<ScheduledMessage> {
    let customer = references::lock_recipient(conn, customer_id).await?;
    let service = &[MessageType::ServiceReminder];
    cancel_pending(conn, actor, Scope::Customer(customer_id, service)).await?;
    let zone = reader_zone(
        customer.timezone.as_deref(),
        business_zone(conn).await?.as_deref(),
    );
    let mut reminder = message(
        customer_id,
        MessageType::ServiceReminder,
        nine_am(zone, due_on),
    );
    reminder.ticket_id = ticket_id;
    create(conn, actor, reminder, None, "schedule_service_reminder").await
}

/// An invoice was sent: it goes out by email now, and a payment reminder is scheduled 3 days
/// before it is due (if that is still ahead).
pub async fn invoice_sent(conn: &mut PgConnection, actor: &Actor, invoice: &Bill) -> Result<()> {
    if active_customer(conn, invoice.customer_id).await?.is_none() {
        return Ok(());
    }
    let now = Utc::now();
    let mut email = message(invoice.customer_id, MessageType::Invoice, now);
    email.invoice_id = Some(invoice.id);
    create(conn, actor, email, None, "send").await?;
    let remind_at = invoice
        .due_at
        .and_then(|due| due.checked_sub_days(PAYMENT_REMINDER_BEFORE_DUE));
    if let Some(at) = remind_at.filter(|at| *at > now) {
        let mut reminder = message(invoice.customer_id, MessageType::PaymentReminder, at);
        reminder.invoice_id = Some(invoice.id);
        create(conn, actor, reminder, None, "send").await?;
    }
    Ok(())
}

/// An invoice was paid: no more reminders about it.
pub async fn invoice_paid(conn: &mut PgConnection, actor: &Actor, invoice_id: Uuid) -> Result<()> {
    let reminders = &[MessageType::PaymentReminder];
    cancel_pending(conn, actor, Scope::Invoice(invoice_id, reminders)).await?;
    Ok(())
}

/// An invoice was voided: nothing about it is sent any more.
pub async fn invoice_voided(
    conn: &mut PgConnection,
    actor: &Actor,
    invoice_id: Uuid,
) -> Result<()> {
    cancel_pending(conn, actor, Scope::Invoice(invoice_id, ALL_TYPES)).await?;
    Ok(())
}

/// A customer was archived, deleted or opted out: every pending message to them is cancelled.
pub async fn cancel_customer_messages(
    conn: &mut PgConnection,
    actor: &Actor,
    customer_id: Uuid,
) -> Result<usize> {
    cancel_pending(conn, actor, Scope::Customer(customer_id, ALL_TYPES)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_intervals_come_from_attributes_when_sane() {
        let days = |v: Value| service_interval_days(&json!({ "service_interval_days": v }));
        assert_eq!(days(json!(90)), Some(90));
        assert_eq!(days(json!("30")), Some(30));
        for bad in [
            json!(0),
            json!(-5),
            json!(4000),
            json!(1.5),
            json!("soon"),
            json!(null),
        ] {
            assert_eq!(days(bad.clone()), None, "{bad}");
        }
        assert_eq!(service_interval_days(&json!({})), None);
    }
}
