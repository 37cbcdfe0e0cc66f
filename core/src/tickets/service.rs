//! Ticket queries, in the caller's tenant transaction; writes are audited there. A ticket may
//! only name a live customer of the same tenant (404 otherwise, `CUSTOMER_ARCHIVED` when that
//! customer is archived); the composite foreign key enforces the tenant part in the database.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{
    Ticket, TicketCreate, TicketEvent, TicketPatch, TicketStatus, TicketValues, columns, extraction,
};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::customers;
use crate::error::{Error, Result, on_foreign_key};
use crate::ids::{Actor, new_id};
use crate::messages::time::{at_local, reader_zone};
use crate::messages::{MessageSettings, flows};
use crate::pagination::{Cursor, ListParams, Page, query_param, uuid_param};
use crate::state::transition;

pub(super) const NOT_FOUND: Error = Error::NotFound("ticket not found");

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
    let changes = compute_changes(&Value::Null, &snapshot(&ticket)?);
    audit::log_change(
        conn,
        actor,
        "ticket",
        ticket.id,
        AuditAction::Create,
        changes,
    )
    .await?;
    if ticket.scheduled_at.is_some() {
        flows::ticket_booked(conn, actor, settings, &ticket, None).await?;
    }
    Ok(ticket)
}

/// A live ticket of the current tenant.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Ticket> {
    fetch(conn, id, false).await?.ok_or(NOT_FOUND)
}

pub(super) async fn fetch(
    conn: &mut PgConnection,
    id: Uuid,
    for_update: bool,
) -> Result<Option<Ticket>> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            columns!(),
            " FROM tickets WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM tickets WHERE id = $1 AND deleted_at IS NULL"
        )
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Optional filters of `GET /api/data/tickets`: `customer_id`, `status`.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    pub customer_id: Option<Uuid>,
    pub status: Option<TicketStatus>,
}

impl TicketFilter {
    pub fn from_query(query: &HashMap<String, String>) -> Result<TicketFilter> {
        let customer_id = uuid_param(query, "customer_id")?;
        let status = query_param(
            query,
            "status",
            TicketStatus::parse,
            "must be a ticket status such as scheduled",
        )?;
        Ok(TicketFilter {
            customer_id,
            status,
        })
    }
}

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

/// A page of the tenant's live tickets after `$1`, optionally in status `$3`; `$2` (the
/// customer filter) is null. Keyset on the tenant's `(user_id, id)` index.
pub const LIST_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tickets
              WHERE user_id = app_current_user_id() AND id > $1 AND $2::uuid IS NULL
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, id LIMIT $4"
);

/// A page of one customer's (`$2`) live tickets after `$1`, optionally in status `$3`. Keyset
/// on the tenant's `(user_id, customer_id, id)` index.
pub const LIST_BY_CUSTOMER_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM tickets
              WHERE user_id = app_current_user_id() AND customer_id = $2 AND id > $1
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, customer_id, id LIMIT $4"
);

/// Live tickets in creation order, optionally filtered.
pub async fn list(
    conn: &mut PgConnection,
    filter: &TicketFilter,
    params: &ListParams,
) -> Result<Page<Ticket>> {
    let after = Cursor::keyset_start(params.cursor)?;
    // The tenant stated and a keyset on one of its indexes, (user_id, id) or — for one
    // customer's rows — (user_id, customer_id, id): an index range scan whatever the
    // statistics say, the same cost for the first and the thousandth page.
    let sql = if filter.customer_id.is_some() {
        LIST_BY_CUSTOMER_SQL
    } else {
        LIST_SQL
    };
    let rows: Vec<Ticket> = sqlx::query_as(sql)
        .bind(after)
        .bind(filter.customer_id)
        .bind(filter.status.map(TicketStatus::as_str))
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |t| Cursor::After(t.id)))
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
    let current = fetch(conn, id, true).await?.ok_or(NOT_FOUND)?;
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
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(conn, actor, "ticket", id, AuditAction::Update, changes).await?;
    }
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
    .ok_or(NOT_FOUND)
}

/// Soft delete, in any state: invoices and messages keep pointing at the row.
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let deleted_at: Option<DateTime<Utc>> = sqlx::query_scalar(
        "UPDATE tickets SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let deleted_at = deleted_at.ok_or(NOT_FOUND)?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(conn, actor, "ticket", id, AuditAction::Delete, changes).await?;
    flows::ticket_deleted(conn, actor, id).await?;
    Ok(())
}
