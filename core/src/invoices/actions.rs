//! Invoice actions: send, mark paid, void. Each locks the invoice, asks the state machine
//! (`InvoiceStatus::TRANSITIONS`), writes, and audits under the action's name in the caller's
//! transaction. An illegal action fails before anything is written.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::service::load;
use super::{Invoice, InvoiceEvent};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::entity::Lock;
use crate::error::{Error, Result};
use crate::fields::{self, Checker, JsonInput};
use crate::ids::Actor;
use crate::lifecycle::transition;
use crate::messages::flows;
use crate::values;

/// Payload of `invoice.send`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvoiceRef {
    pub invoice_id: Uuid,
}
impl JsonInput for InvoiceRef {}

/// Payload of `invoice.mark_paid`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarkInvoicePaid {
    pub invoice_id: Uuid,
    /// When the money arrived; default now.
    #[serde(default)]
    pub paid_at: Option<DateTime<Utc>>,
}
impl JsonInput for MarkInvoicePaid {}

/// Payload of `invoice.void`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoidInvoice {
    pub invoice_id: Uuid,
    #[serde(default)]
    pub reason: Option<String>,
}
impl JsonInput for VoidInvoice {}

async fn audited(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Invoice,
    action: &'static str,
) -> Result<Invoice> {
    let after = load(conn, before.id, Lock::Read).await?;
    let changes = compute_changes(&snapshot(before)?, &snapshot(&after)?);
    audit::log_change(
        conn,
        actor,
        "invoice",
        after.id,
        AuditAction::Action(action),
        changes,
    )
    .await?;
    Ok(after)
}

/// Marks a draft with at least one item as sent (`sent_at` = now), emails it to the customer
/// and schedules a payment reminder before it is due (`messages::flows`).
pub async fn send(conn: &mut PgConnection, actor: &Actor, input: InvoiceRef) -> Result<Invoice> {
    let current = load(conn, input.invoice_id, Lock::ForUpdate).await?;
    let status = transition(current.status, InvoiceEvent::Send)?;
    if current.items.is_empty() {
        return Err(Error::InvalidState(
            "invoice has no items and cannot be sent".into(),
        ));
    }
    sqlx::query("UPDATE invoices SET status = $2, sent_at = now() WHERE id = $1")
        .bind(current.id)
        .bind(status.as_str())
        .execute(&mut *conn)
        .await?;
    let sent = audited(conn, actor, &current, "send").await?;
    flows::invoice_sent(conn, actor, &sent.bill()).await?;
    Ok(sent)
}

/// Records the payment of a sent invoice.
pub async fn mark_paid(
    conn: &mut PgConnection,
    actor: &Actor,
    input: MarkInvoicePaid,
) -> Result<Invoice> {
    let mut c = Checker::new();
    let paid_at = c.check_opt("paid_at", input.paid_at, |v| values::timestamp(v).map(Some));
    c.finish()?;
    let current = load(conn, input.invoice_id, Lock::ForUpdate).await?;
    let status = transition(current.status, InvoiceEvent::MarkPaid)?;
    sqlx::query("UPDATE invoices SET status = $2, paid_at = coalesce($3, now()) WHERE id = $1")
        .bind(current.id)
        .bind(status.as_str())
        .bind(paid_at)
        .execute(&mut *conn)
        .await?;
    let paid = audited(conn, actor, &current, "mark_paid").await?;
    flows::invoice_paid(conn, actor, paid.id).await?;
    Ok(paid)
}

/// Voids a draft or sent invoice. Its number stays taken (numbers are never reused).
pub async fn void(conn: &mut PgConnection, actor: &Actor, input: VoidInvoice) -> Result<Invoice> {
    let mut c = Checker::new();
    let reason = c.check_opt("reason", input.reason, |v| {
        fields::optional_text(v, 500, true)
    });
    c.finish()?;
    let current = load(conn, input.invoice_id, Lock::ForUpdate).await?;
    let status = transition(current.status, InvoiceEvent::Void)?;
    sqlx::query(
        "UPDATE invoices SET status = $2, voided_at = now(), void_reason = $3 WHERE id = $1",
    )
    .bind(current.id)
    .bind(status.as_str())
    .bind(&reason)
    .execute(&mut *conn)
    .await?;
    let voided = audited(conn, actor, &current, "void").await?;
    flows::invoice_voided(conn, actor, voided.id).await?;
    Ok(voided)
}
