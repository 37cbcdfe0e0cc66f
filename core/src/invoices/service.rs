//! Invoice queries, in the caller's tenant transaction; writes are audited there. Creation
//! assigns the next number from the tenant's counter row inside the same transaction, which
//! makes numbers consecutive and gap-free under concurrency (the row lock serialises
//! creators; a rollback returns the number).

use std::collections::HashMap;

use rust_decimal::Decimal;
use sqlx::PgConnection;
use uuid::Uuid;

use super::items::{self, ItemDraft};
use super::{Invoice, InvoiceCreate, InvoiceEvent, InvoicePatch, InvoiceStatus};
use crate::entity::{self, CustomerStatusFilter, Lock};
use crate::error::{Error, Result, on_foreign_key};
use crate::fields::{self, Checker, Patch};
use crate::ids::{Actor, new_id};
use crate::lifecycle::transition;
use crate::pagination::{ListParams, Page};
use crate::{customers, tickets, values};

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
    let invoice = load(conn, id, Lock::Read).await?;
    entity::log_created(conn, actor, &invoice).await?;
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
    load(conn, id, Lock::Read).await
}

/// Reads a live invoice and its items (`lock` applies to the invoice row).
pub(super) async fn load(conn: &mut PgConnection, id: Uuid, lock: Lock) -> Result<Invoice> {
    let mut invoice: Invoice = entity::get(conn, id, lock).await?;
    invoice.items = items::of(conn, &[id]).await?;
    Ok(invoice)
}

/// Optional filters of `GET /api/data/invoices`: `customer_id`, `status`.
pub type InvoiceFilter = CustomerStatusFilter<InvoiceStatus>;

/// Live invoices with their items, in creation order.
pub async fn list(
    conn: &mut PgConnection,
    filter: &InvoiceFilter,
    params: &ListParams,
) -> Result<Page<Invoice>> {
    let mut page: Page<Invoice> = entity::filtered_page(&mut *conn, filter, params).await?;
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
    let current = load(conn, id, Lock::ForUpdate).await?;
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
    let updated = load(conn, id, Lock::Read).await?;
    entity::log_updated(conn, actor, &current, &updated).await?;
    Ok(updated)
}

/// Soft delete of a draft; anything already sent is voided instead (`INVALID_STATE`).
pub async fn delete(conn: &mut PgConnection, actor: &Actor, id: Uuid) -> Result<()> {
    let current = load(conn, id, Lock::ForUpdate).await?;
    transition(current.status, InvoiceEvent::Delete)?;
    entity::soft_delete::<Invoice>(conn, actor, id).await
}
