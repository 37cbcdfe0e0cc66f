//! Ticket queries, in the caller's tenant transaction; writes are audited there. A ticket may
//! only name a live customer of the same tenant (404 otherwise, `CUSTOMER_ARCHIVED` when that
//! customer is archived); the composite foreign key enforces the tenant part in the database.

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    Ticket, TicketCreate, TicketEvent, TicketPatch, TicketStatus, TicketValues, columns, extraction,
};
use crate::customers;
use crate::entity::{self, CustomerStatusFilter, Entity, Lock};
use crate::error::{Error, Result, on_foreign_key};
use crate::ids::{Actor, new_id};
use crate::lifecycle::transition;
use crate::messages::time::{at_local, reader_zone};
use crate::messages::{MessageSettings, flows};
use crate::pagination::{ListParams, Page};

/// Creates a ticket (`draft`, or `scheduled` when `scheduled_at` is given) and its audit row;
/// a scheduled one gets its confirmation and reminder like `ticket.schedule`.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: TicketCreate,
    settings: &MessageSettings,
) -> Result<Ticket> {
    let t = input.parse()?;
    customers::lock_for_new_work(conn, t.customer_id).await?;
    let ticket: Ticket = sqlx::query_as(concat!(
        "INSERT INTO tickets (id, user_id, customer_id, title, description, status, scheduled_at,
                              duration_minutes, technician_notes)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7, $8)
         RETURNING ",
        columns!()
    ))
    .bind(new_id())
    .bind(t.customer_id)
    .bind(&t.fields.title)
    .bind(&t.fields.description)
    .bind(t.status.as_str())
    .bind(t.scheduled_at)
    .bind(t.fields.duration_minutes)
    .bind(&t.fields.technician_notes)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| on_foreign_key("tickets_customer_fkey", e, "customer not found"))?;
    entity::log_created(conn, actor, &ticket).await?;
    if ticket.scheduled_at.is_some() {
        flows::ticket_booked(conn, actor, settings, &ticket.visit(), None).await?;
    }
    Ok(ticket)
}

/// A live ticket of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Ticket> {
    entity::get::<Ticket>(conn, id, Lock::Read).await
}

/// Optional filters of `GET /api/data/tickets`: `customer_id`, `status`.
pub type TicketFilter = CustomerStatusFilter<TicketStatus>;

/// The tenant's live tickets scheduled in `[$1, $2)`: a range of its
/// `(user_id, scheduled_at, id)` index.
pub const WEEK_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tickets
      WHERE user_id = app_current_user_id() AND scheduled_at >= $1 AND scheduled_at < $2
        AND deleted_at IS NULL
      ORDER BY user_id, scheduled_at, id"
);

/// Live tickets in creation order, optionally filtered.
pub async fn list(
    conn: &mut PgConnection,
    filter: &TicketFilter,
    params: &ListParams,
) -> Result<Page<Ticket>> {
    entity::filtered_page(conn, filter, params).await
}

/// The week view: seven days from `week_start` (00:00 in the business's time zone, inclusive)
/// to `week_end` (exclusive), with every live ticket scheduled in between, ordered by
/// `scheduled_at`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Week {
    pub week_start: DateTime<Utc>,
    pub week_end: DateTime<Utc>,
    /// The business's time zone (`users.timezone`), in which the days are counted.
    pub timezone: &'static str,
    pub tickets: Vec<Ticket>,
}

/// Parses `start_date` (`YYYY-MM-DD`) and reads that week's tickets.
pub async fn week(conn: &mut PgConnection, start_date: Option<&str>) -> Result<Week> {
    let invalid = || Error::field("start_date", "must be a date written YYYY-MM-DD");
    let raw = start_date.ok_or_else(|| Error::field("start_date", "is required"))?;
    let shape_ok = raw.len() == 10
        && raw.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !shape_ok {
        return Err(invalid());
    }
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| invalid())?;
    if !(2000..=2100).contains(&date.year()) {
        return Err(Error::field(
            "start_date",
            "must be between the years 2000 and 2100",
        ));
    }
    let end = date.checked_add_days(Days::new(7)).ok_or_else(invalid)?;
    // Midnight in the business's zone (DST-correct: such a week may be 167 or 169 hours).
    let zone_name: Option<String> =
        sqlx::query_scalar("SELECT timezone FROM users WHERE id = app_current_user_id()")
            .fetch_optional(&mut *conn)
            .await?;
    let zone = reader_zone(None, zone_name.as_deref());
    let week_start = at_local(zone, date, chrono::NaiveTime::MIN);
    let week_end = at_local(zone, end, chrono::NaiveTime::MIN);
    let tickets: Vec<Ticket> = sqlx::query_as(WEEK_SQL)
        .bind(week_start)
        .bind(week_end)
        .fetch_all(conn)
        .await?;
    Ok(Week {
        week_start,
        week_end,
        timezone: zone.name(),
        tickets,
    })
}

/// Applies a partial update of an open ticket for an active customer; audits only the fields
/// that actually changed. A completed ticket accepts new technician notes only, and extraction
/// runs again for them.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: TicketPatch,
) -> Result<Ticket> {
    let current = entity::get::<Ticket>(conn, id, Lock::ForUpdate).await?;
    let event = if current.status == TicketStatus::Completed && patch.only_notes() {
        TicketEvent::EditNotes
    } else {
        TicketEvent::Edit
    };
    let values = patch.apply(&current)?;
    transition(current.status, event)?;
    customers::lock_for_new_work(conn, current.customer_id).await?;
    let mut updated = write(conn, id, &values).await?;
    if event == TicketEvent::EditNotes && updated.technician_notes != current.technician_notes {
        updated = extraction::request(conn, updated).await?;
    }
    entity::log_updated(conn, actor, &current, &updated).await?;
    Ok(updated)
}

async fn write(conn: &mut PgConnection, id: Uuid, v: &TicketValues) -> Result<Ticket> {
    sqlx::query_as(concat!(
        "UPDATE tickets
            SET title = $2, description = $3, duration_minutes = $4, technician_notes = $5
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(&v.title)
    .bind(&v.description)
    .bind(v.duration_minutes)
    .bind(&v.technician_notes)
    .fetch_optional(conn)
    .await?
    .ok_or(Ticket::NOT_FOUND)
}

/// Soft delete, in any state: invoices and messages keep pointing at the row.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    entity::soft_delete::<Ticket>(conn, actor, id).await?;
    flows::ticket_deleted(conn, actor, id).await?;
    Ok(())
}
