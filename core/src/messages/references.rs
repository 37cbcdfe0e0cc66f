//! What a message needs to know of the customer, ticket and invoice it is about, read with
//! statements of its own: `messages` sits below the entities whose changes schedule messages
//! (they call `flows`), so nothing here calls back into `customers`, `tickets` or `invoices`.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};

/// The customer a message goes to.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct Recipient {
    pub id: Uuid,
    pub timezone: Option<String>,
    pub attributes: Value,
    archived: bool,
}

/// The live customer `id`, locked `FOR SHARE` so that archiving or deleting them waits for the
/// message being written (and then cancels it): 404 when missing, `CUSTOMER_ARCHIVED` when
/// archived — the same answers as the customer's own lock for new work.
pub(crate) async fn lock_recipient(conn: &mut PgConnection, id: Uuid) -> Result<Recipient> {
    let recipient: Recipient = sqlx::query_as(
        "SELECT id, timezone, attributes, archived_at IS NOT NULL AS archived
           FROM customers WHERE id = $1 AND deleted_at IS NULL FOR SHARE",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound("customer not found"))?;
    if recipient.archived {
        return Err(Error::CustomerArchived);
    }
    Ok(recipient)
}

/// The ticket a message refers to.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TicketReference {
    pub customer_id: Uuid,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub cancelled: bool,
}

/// The live ticket `id` (404 otherwise).
pub(crate) async fn ticket(conn: &mut PgConnection, id: Uuid) -> Result<TicketReference> {
    sqlx::query_as(
        "SELECT customer_id, scheduled_at, status = 'cancelled' AS cancelled
           FROM tickets WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::NotFound("ticket not found"))
}

/// The customer of the live invoice `id` (404 otherwise).
pub(crate) async fn invoice_customer(conn: &mut PgConnection, id: Uuid) -> Result<Uuid> {
    sqlx::query_scalar("SELECT customer_id FROM invoices WHERE id = $1 AND deleted_at IS NULL")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(Error::NotFound("invoice not found"))
}
