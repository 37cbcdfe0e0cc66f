//! Customer actions: archive and restore (the archive state machine), the lock that keeps
//! new work away from archived customers, and merging confirmed attributes. Each runs in the
//! caller's tenant transaction and audits what it changed there.

use serde::Deserialize;
use serde_json::{Map, Value};
use sqlx::PgConnection;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{Customer, CustomerEvent, CustomerState, columns};
use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::entity::{self, Entity, Lock};
use crate::error::{Error, Result};
use crate::fields::{self, Checker, JsonInput};
use crate::ids::Actor;
use crate::lifecycle::transition;
use crate::messages::flows;

const REASON_MAX: usize = 500;

/// Payload of `customer.archive`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArchiveCustomer {
    pub customer_id: Uuid,
    /// Why the customer is archived (kept on the customer and in the audit log).
    #[serde(default)]
    pub reason: Option<String>,
}
impl JsonInput for ArchiveCustomer {}

/// Payload of `customer.restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreCustomer {
    pub customer_id: Uuid,
}
impl JsonInput for RestoreCustomer {}

/// Archives an active customer. Archiving an archived one is `CUSTOMER_ARCHIVED`.
pub async fn archive(
    conn: &mut PgConnection,
    actor: &Actor,
    input: ArchiveCustomer,
) -> Result<Customer> {
    let mut c = Checker::new();
    let reason = c.check_opt("reason", input.reason, |v| {
        fields::optional_text(v, REASON_MAX, true)
    });
    c.finish()?;
    let current = entity::get::<Customer>(conn, input.customer_id, Lock::ForUpdate).await?;
    if current.state() == CustomerState::Archived {
        return Err(Error::CustomerArchived);
    }
    transition(current.state(), CustomerEvent::Archive)?;
    let updated: Customer = sqlx::query_as(concat!(
        "UPDATE customers SET archived_at = now(), archived_reason = $2
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .bind(&reason)
    .fetch_one(&mut *conn)
    .await?;
    audit_action(conn, actor, &current, &updated, "archive").await?;
    flows::cancel_customer_messages(conn, actor, updated.id).await?;
    Ok(updated)
}

/// Restores an archived customer; restoring an active one is `INVALID_STATE`.
pub async fn restore(
    conn: &mut PgConnection,
    actor: &Actor,
    input: RestoreCustomer,
) -> Result<Customer> {
    let current = entity::get::<Customer>(conn, input.customer_id, Lock::ForUpdate).await?;
    transition(current.state(), CustomerEvent::Restore)?;
    let updated: Customer = sqlx::query_as(concat!(
        "UPDATE customers SET archived_at = NULL, archived_reason = NULL
          WHERE id = $1 AND deleted_at IS NULL
          RETURNING ",
        columns!()
    ))
    .bind(current.id)
    .fetch_one(&mut *conn)
    .await?;
    audit_action(conn, actor, &current, &updated, "restore").await?;
    Ok(updated)
}

/// The live, active customer that new work (a ticket, an invoice, a message) is about to
/// reference: 404 when missing or another tenant's, `CUSTOMER_ARCHIVED` when archived. The row
/// is share-locked until the transaction ends, so a concurrent archive waits for the new work
/// (and is then free to archive) instead of racing past the check.
pub async fn lock_for_new_work(conn: &mut PgConnection, id: Uuid) -> Result<Customer> {
    let customer: Customer = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM customers WHERE id = $1 AND deleted_at IS NULL FOR SHARE"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Customer::NOT_FOUND)?;
    if customer.archived_at.is_some() {
        return Err(Error::CustomerArchived);
    }
    Ok(customer)
}

/// Merges `confirmed` into the customer's attributes (top-level keys replace what was there)
/// and audits the change on the customer under `action`. An archived customer is not changed.
pub async fn merge_attributes(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
    confirmed: Map<String, Value>,
    action: &'static str,
) -> Result<Customer> {
    let current = entity::get::<Customer>(conn, id, Lock::ForUpdate).await?;
    if current.archived_at.is_some() {
        return Err(Error::CustomerArchived);
    }
    let mut merged = match &current.attributes {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    merged.extend(confirmed);
    let merged = fields::attributes(merged).map_err(|e| Error::field("attributes", e.0))?;
    let updated: Customer = sqlx::query_as(concat!(
        "UPDATE customers SET attributes = $2 WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        columns!()
    ))
    .bind(id)
    .bind(Value::Object(merged))
    .fetch_one(&mut *conn)
    .await?;
    audit_action(conn, actor, &current, &updated, action).await?;
    Ok(updated)
}

async fn audit_action(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &Customer,
    after: &Customer,
    action: &'static str,
) -> Result<()> {
    let changes = compute_changes(&snapshot(before)?, &snapshot(after)?);
    audit::log_change(
        conn,
        actor,
        "customer",
        after.id,
        AuditAction::Action(action),
        changes,
    )
    .await
}
