//! What sending (and previewing) messages reads: each message with its customer, business,
//! ticket and invoice, a batch in one statement — including rows deleted since, so that the
//! sender can say why it skips and a preview can still render. The sender locks the message
//! rows with it.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{ScheduledMessage, columns};
use crate::error::Result;

/// One message and everything it refers to.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageData {
    #[sqlx(flatten)]
    pub message: ScheduledMessage,
    pub business_name: String,
    pub business_timezone: String,
    pub customer_first_name: String,
    pub customer_last_name: Option<String>,
    pub customer_email: Option<String>,
    pub customer_timezone: Option<String>,
    pub customer_email_opt_out: bool,
    pub customer_email_bounced_at: Option<DateTime<Utc>>,
    pub customer_archived_at: Option<DateTime<Utc>>,
    pub customer_deleted_at: Option<DateTime<Utc>>,
    pub ticket_title: Option<String>,
    pub ticket_status: Option<String>,
    pub ticket_scheduled_at: Option<DateTime<Utc>>,
    pub ticket_duration_minutes: Option<i32>,
    pub ticket_closed_at: Option<DateTime<Utc>>,
    pub ticket_deleted_at: Option<DateTime<Utc>>,
    pub invoice_number: Option<String>,
    pub invoice_status: Option<String>,
    pub invoice_total: Option<Decimal>,
    pub invoice_currency: Option<String>,
    pub invoice_due_at: Option<DateTime<Utc>>,
    pub invoice_deleted_at: Option<DateTime<Utc>>,
    /// Service reminders: the customer has another live ticket booked (scheduled, in progress
    /// or done) for after the visit that caused the reminder.
    pub booked_later: bool,
}

/// One invoice line as an email shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ItemLine {
    pub description: String,
    pub quantity: Decimal,
    pub unit_price: Decimal,
    pub amount: Decimal,
}

macro_rules! data_sql {
    ($lock:literal) => {
        concat!(
            "WITH m AS (SELECT ",
            columns!(),
            " FROM scheduled_messages
               WHERE id = ANY(ARRAY(SELECT unnest($1::uuid[]))) AND deleted_at IS NULL
               ORDER BY id ",
            $lock,
            ")
             SELECT m.*,
                    u.business_name, u.timezone AS business_timezone,
                    c.first_name AS customer_first_name, c.last_name AS customer_last_name,
                    c.email AS customer_email, c.timezone AS customer_timezone,
                    c.email_opt_out AS customer_email_opt_out,
                    c.email_bounced_at AS customer_email_bounced_at,
                    c.archived_at AS customer_archived_at, c.deleted_at AS customer_deleted_at,
                    t.title AS ticket_title, t.status AS ticket_status,
                    t.scheduled_at AS ticket_scheduled_at,
                    t.duration_minutes AS ticket_duration_minutes,
                    t.closed_at AS ticket_closed_at, t.deleted_at AS ticket_deleted_at,
                    i.number AS invoice_number, i.status AS invoice_status,
                    i.total AS invoice_total, i.currency AS invoice_currency,
                    i.due_at AS invoice_due_at, i.deleted_at AS invoice_deleted_at,
                    (m.message_type = 'service_reminder' AND EXISTS (
                        SELECT 1 FROM tickets later
                         WHERE later.customer_id = m.customer_id
                           AND later.deleted_at IS NULL
                           AND later.id IS DISTINCT FROM m.ticket_id
                           AND later.status IN ('scheduled', 'in_progress', 'completed')
                           AND later.scheduled_at > coalesce(t.scheduled_at, t.closed_at, m.created_at)
                    )) AS booked_later
               FROM m
               JOIN users u ON u.id = m.user_id
               JOIN customers c ON c.id = m.customer_id
               LEFT JOIN tickets t ON t.id = m.ticket_id
               LEFT JOIN invoices i ON i.id = m.invoice_id
              ORDER BY m.id"
        )
    };
}

/// Reads a live message of the current tenant with everything it refers to.
pub async fn load(conn: &mut PgConnection, id: Uuid) -> Result<Option<MessageData>> {
    Ok(sqlx::query_as(data_sql!(""))
        .bind(vec![id])
        .fetch_optional(conn)
        .await?)
}

/// Reads and locks the live messages among `ids` (in id order: concurrent batches lock in the
/// same order). The rows stay locked until the transaction ends: the sender's guard against
/// twice. Ids that are not (or no longer) live messages of the tenant are left out.
pub async fn lock_many(conn: &mut PgConnection, ids: &[Uuid]) -> Result<Vec<MessageData>> {
    Ok(sqlx::query_as(data_sql!("FOR UPDATE"))
        .bind(ids)
        .fetch_all(conn)
        .await?)
}

/// The lines of an invoice, in order.
pub async fn invoice_lines(conn: &mut PgConnection, invoice_id: Uuid) -> Result<Vec<ItemLine>> {
    Ok(sqlx::query_as(
        "SELECT description, quantity, unit_price, amount
           FROM invoice_items WHERE user_id = app_current_user_id() AND invoice_id = $1
          ORDER BY position",
    )
    .bind(invoice_id)
    .fetch_all(conn)
    .await?)
}
