//! Invoice queries, in the caller's tenant transaction; writes are audited there. Creation
//! assigns the next number from the tenant's counter row inside the same transaction, which
//! makes numbers consecutive and gap-free under concurrency (the row lock serialises
//! creators; a rollback returns the number).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::items::{self, ItemDraft};
use super::{Invoice, InvoiceCreate, InvoiceEvent, InvoicePatch, InvoiceStatus, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::{Error, Result, on_foreign_key};
use crate::fields::{self, Checker, Patch};
use crate::ids::{Actor, new_id};
use crate::pagination::{Cursor, ListParams, Page, query_param, uuid_param};
use crate::state::transition;
use crate::{customers, tickets, values};

pub(super) const NOT_FOUND: Error = Error::NotFound("invoice not found");
const NOTES_MAX: usize = 5000;

fn notes(v: String) -> Result<Option<String>, fields::FieldError> {
    fields::optional_text(v, NOTES_MAX, true)
}

/// Creates an invoice with its items, numbered `INV-000001`, `INV-000002`, ... per tenant.
pub async fn create(
    conn: &mut PgConnection,
    actor: &Actor,
    input: InvoiceCreate,
) -> Result<Invoice> {
    let mut c = Checker::new();
    let currency = c
        .check_opt("currency", input.currency, |v| {
            values::currency(v).map(Some)
        })
        .unwrap_or_else(|| "USD".to_owned());
    let notes = c.check_opt("notes", input.notes, notes);
    let due_at = c.check_opt("due_at", input.due_at, |v| values::timestamp(v).map(Some));
    let drafts: Vec<ItemDraft> = items::parse(&mut c, input.items);
    c.finish()?;

    customers::lock_for_new_work(conn, input.customer_id).await?;
    if let Some(ticket_id) = input.ticket_id {
        let ticket = tickets::get(conn, ticket_id).await?;
        if ticket.customer_id != input.customer_id {
            return Err(Error::field("ticket_id", "belongs to another customer"));
        }
    }
    let (items, total) = items::resolve(conn, drafts).await?;

    let number = next_number(conn).await?;
    let id = new_id();
    sqlx::query(
        "INSERT INTO invoices (id, user_id, customer_id, ticket_id, number, currency, total, notes, due_at)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(id)
    .bind(input.customer_id)
    .bind(input.ticket_id)
    .bind(&number)
    .bind(&currency)
    .bind(total)
    .bind(&notes)
    .bind(due_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("invoices_ticket_fkey") => {
            Error::NotFound("ticket not found")
        }
        _ => on_foreign_key("invoices_customer_fkey", e, "customer not found"),
    })?;
    items::replace(conn, id, &items).await?;
    let invoice = load(conn, id, false).await?;
    let changes = compute_changes(&Value::Null, &snapshot(&invoice)?);
    audit::log_change(conn, actor, "invoice", id, AuditAction::Create, changes).await?;
    Ok(invoice)
}

/// Takes the tenant's next invoice number. The counter row stays locked until the calling
/// transaction ends.
async fn next_number(conn: &mut PgConnection) -> Result<String> {
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO invoice_counters (user_id, last_number) VALUES (app_current_user_id(), 1)
         ON CONFLICT (user_id) DO UPDATE SET last_number = invoice_counters.last_number + 1
         RETURNING last_number",
    )
    .fetch_one(conn)
    .await?;
    Ok(format!("INV-{n:06}"))
}

/// A live invoice of the current tenant, with its items.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Invoice> {
    load(conn, id, false).await
}

/// Reads a live invoice and its items (locking the invoice row when `for_update`).
pub(super) async fn load(conn: &mut PgConnection, id: Uuid, for_update: bool) -> Result<Invoice> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            columns!(),
            " FROM invoices WHERE id = $1 AND deleted_at IS NULL FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            columns!(),
            " FROM invoices WHERE id = $1 AND deleted_at IS NULL"
        )
    };
    let mut invoice: Invoice = sqlx::query_as(sql)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(NOT_FOUND)?;
    invoice.items = items::of(conn, &[id]).await?;
    Ok(invoice)
}

/// Optional filters of `GET /api/data/invoices`: `customer_id`, `status`.
#[derive(Debug, Clone, Default)]
pub struct InvoiceFilter {
    pub customer_id: Option<Uuid>,
    pub status: Option<InvoiceStatus>,
}

impl InvoiceFilter {
    pub fn from_query(query: &HashMap<String, String>) -> Result<InvoiceFilter> {
        let customer_id = uuid_param(query, "customer_id")?;
        let status = query_param(
            query,
            "status",
            InvoiceStatus::parse,
            "must be an invoice status such as sent",
        )?;
        Ok(InvoiceFilter {
            customer_id,
            status,
        })
    }
}

/// A page of the tenant's live invoices after `$1`, optionally in status `$3`; `$2` (the
/// customer filter) is null. Keyset on the tenant's `(user_id, id)` index.
pub const LIST_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM invoices
              WHERE user_id = app_current_user_id() AND id > $1 AND $2::uuid IS NULL
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, id LIMIT $4"
);

/// A page of one customer's (`$2`) live invoices after `$1`, optionally in status `$3`. Keyset
/// on the tenant's `(user_id, customer_id, id)` index.
pub const LIST_BY_CUSTOMER_SQL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM invoices
              WHERE user_id = app_current_user_id() AND customer_id = $2 AND id > $1
                AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)
              ORDER BY user_id, customer_id, id LIMIT $4"
);

/// Live invoices with their items, in creation order.
pub async fn list(
    conn: &mut PgConnection,
    filter: &InvoiceFilter,
    params: &ListParams,
) -> Result<Page<Invoice>> {
    let after = Cursor::keyset_start(params.cursor)?;
    // The tenant stated and a keyset on one of its indexes, (user_id, id) or — for one
    // customer's rows — (user_id, customer_id, id): an index range scan whatever the
    // statistics say, the same cost for the first and the thousandth page.
    let sql = if filter.customer_id.is_some() {
        LIST_BY_CUSTOMER_SQL
    } else {
        LIST_SQL
    };
    let rows: Vec<Invoice> = sqlx::query_as(sql)
        .bind(after)
        .bind(filter.customer_id)
        .bind(filter.status.map(InvoiceStatus::as_str))
        .bind(params.fetch_limit())
        .fetch_all(&mut *conn)
        .await?;
    let mut page = Page::from_rows(rows, params.limit, |i| Cursor::After(i.id));
    let ids: Vec<Uuid> = page.items.iter().map(|i| i.id).collect();
    let mut by_invoice: HashMap<Uuid, Vec<items::InvoiceItem>> = HashMap::new();
    for item in items::of(conn, &ids).await? {
        by_invoice.entry(item.invoice_id).or_default().push(item);
    }
    for invoice in &mut page.items {
        invoice.items = by_invoice.remove(&invoice.id).unwrap_or_default();
    }
    Ok(page)
}

/// Applies a partial update as the state machine allows (items and currency in draft, notes
/// and due date in draft or sent); audits only the fields that actually changed.
pub async fn update(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    patch: InvoicePatch,
) -> Result<Invoice> {
    let current = load(conn, id, true).await?;
    let mut c = Checker::new();
    let touches_items =
        !matches!(patch.items, Patch::Absent) || !matches!(patch.currency, Patch::Absent);
    let currency = c.patch_required(
        "currency",
        patch.currency,
        current.currency.clone(),
        values::currency,
    );
    let notes = c.patch_nullable("notes", patch.notes, current.notes.clone(), notes);
    let due_at = c.patch_nullable("due_at", patch.due_at, current.due_at, |v| {
        values::timestamp(v).map(Some)
    });
    let drafts = match patch.items {
        Patch::Absent => None,
        Patch::Null => {
            c.add("items", "cannot be null; send [] to remove every item");
            None
        }
        Patch::Value(items) => Some(items::parse(&mut c, items)),
    };
    c.finish()?;
    transition(current.status, InvoiceEvent::Edit)?;
    if touches_items {
        transition(current.status, InvoiceEvent::EditItems)?;
    }
    let total: Decimal = match drafts {
        Some(drafts) => {
            let (items, total) = items::resolve(conn, drafts).await?;
            items::replace(conn, id, &items).await?;
            total
        }
        None => current.total,
    };
    sqlx::query(
        "UPDATE invoices SET currency = $2, notes = $3, due_at = $4, total = $5
          WHERE id = $1 AND deleted_at IS NULL",
    )
    .bind(id)
    .bind(&currency)
    .bind(&notes)
    .bind(due_at)
    .bind(total)
    .execute(&mut *conn)
    .await?;
    let updated = load(conn, id, false).await?;
    let changes = compute_changes(&snapshot(&current)?, &snapshot(&updated)?);
    if !changes.is_empty() {
        audit::log_change(conn, actor, "invoice", id, AuditAction::Update, changes).await?;
    }
    Ok(updated)
}

/// Soft delete of a draft; anything already sent is voided instead (`INVALID_STATE`).
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let current = load(conn, id, true).await?;
    transition(current.status, InvoiceEvent::Delete)?;
    let deleted_at: DateTime<Utc> = sqlx::query_scalar(
        "UPDATE invoices SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(conn, actor, "invoice", id, AuditAction::Delete, changes).await?;
    Ok(())
}
