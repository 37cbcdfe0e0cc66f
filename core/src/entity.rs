//! What the entity services (customers, products, tickets, invoices, scheduled messages)
//! share, said once: the by-id read of a live row (optionally `FOR UPDATE`), the soft delete,
//! the audit rows of create / update / delete, and the list pages (with the `customer_id` +
//! `status` filter of tickets, invoices and messages). Every statement stays a static string:
//! `entity!` and `customer_record!` spell each entity's out from its table and column list at
//! compile time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use crate::audit::{self, AuditAction, compute_changes, snapshot};
use crate::error::{Error, Result};
use crate::ids::Actor;
use crate::pagination::{Cursor, ListParams, Page, query_param, uuid_param};
use crate::values::TextEnum;

/// A soft-deletable, audited row of a tenant. Implement it with [`entity!`].
pub trait Entity: Serialize + for<'r> sqlx::FromRow<'r, PgRow> + Send + Unpin {
    /// The entity type of its audit rows (`customer`, `scheduled_message`, ...).
    const AUDIT_TYPE: &'static str;
    /// The answer when the row is missing, deleted, or another tenant's.
    const NOT_FOUND: Error;
    /// `SELECT <columns> FROM <table> WHERE <tenant> AND id = $1 AND deleted_at IS NULL`.
    const SELECT_LIVE: &'static str;
    /// [`Entity::SELECT_LIVE`] `FOR UPDATE`.
    const SELECT_LIVE_FOR_UPDATE: &'static str;
    /// Stamps `deleted_at` on a live row and returns it.
    const SOFT_DELETE: &'static str;
    /// One page of the tenant's live rows in id order: after id `$1` (the nil UUID: from the
    /// start), `LIMIT $2`. The tenant stated and a keyset on its `(user_id, id)` index, so the
    /// plan is an index range scan whatever the statistics say (read it in a
    /// `db::begin_tenant_pages` transaction, which forbids the planner to sort instead).
    const SELECT_PAGE: &'static str;

    fn id(&self) -> Uuid;
}

/// Implements [`Entity`] for `$ty`, stored in `$table` and read through `$columns` (the
/// entity's `columns!()`).
macro_rules! entity {
    ($ty:ty, table: $table:literal, audit: $audit:literal, not_found: $not_found:literal,
     columns: $($columns:tt)+) => {
        impl $crate::entity::Entity for $ty {
            const AUDIT_TYPE: &'static str = $audit;
            const NOT_FOUND: $crate::error::Error = $crate::error::Error::NotFound($not_found);
            const SELECT_LIVE: &'static str = concat!(
                "SELECT ", $($columns)+, " FROM ", $table,
                " WHERE user_id = app_current_user_id() AND id = $1 AND deleted_at IS NULL"
            );
            const SELECT_LIVE_FOR_UPDATE: &'static str = concat!(
                "SELECT ", $($columns)+, " FROM ", $table,
                " WHERE user_id = app_current_user_id() AND id = $1 AND deleted_at IS NULL",
                " FOR UPDATE"
            );
            const SOFT_DELETE: &'static str = concat!(
                "UPDATE ", $table, " SET deleted_at = now()",
                " WHERE id = $1 AND deleted_at IS NULL RETURNING deleted_at"
            );
            const SELECT_PAGE: &'static str = concat!(
                "SELECT ", $($columns)+, " FROM ", $table,
                " WHERE user_id = app_current_user_id() AND id > $1 AND deleted_at IS NULL",
                " ORDER BY user_id, id LIMIT $2"
            );

            fn id(&self) -> uuid::Uuid {
                self.id
            }
        }
    };
}
pub(crate) use entity;

/// An [`Entity`] that belongs to a customer and has a status, listed with a
/// [`CustomerStatusFilter`]. Implement it with [`customer_record!`].
pub trait CustomerRecord: Entity {
    type Status: ListStatus;
    /// [`Entity::SELECT_PAGE`] in status `$3` (skipped when null), `LIMIT $4`; `$2` (the
    /// customer) is null. Keyset on `(user_id, id)`.
    const SELECT_FILTERED_PAGE: &'static str;
    /// One customer's (`$2`) page, optionally in status `$3`, `LIMIT $4`: keyset on the
    /// tenant's `(user_id, customer_id, id)` index.
    const SELECT_CUSTOMER_PAGE: &'static str;
}

/// Implements [`CustomerRecord`] for `$ty` (and [`ListStatus`] for its status, with the
/// message for a bad `?status=`).
macro_rules! customer_record {
    ($ty:ty, table: $table:literal, status: $status:ty, expected: $expected:literal,
     columns: $($columns:tt)+) => {
        impl $crate::entity::CustomerRecord for $ty {
            type Status = $status;
            const SELECT_FILTERED_PAGE: &'static str = concat!(
                "SELECT ", $($columns)+, " FROM ", $table,
                " WHERE user_id = app_current_user_id() AND id > $1 AND $2::uuid IS NULL",
                " AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)",
                " ORDER BY user_id, id LIMIT $4"
            );
            const SELECT_CUSTOMER_PAGE: &'static str = concat!(
                "SELECT ", $($columns)+, " FROM ", $table,
                " WHERE user_id = app_current_user_id() AND customer_id = $2 AND id > $1",
                " AND deleted_at IS NULL AND ($3::text IS NULL OR status = $3)",
                " ORDER BY user_id, customer_id, id LIMIT $4"
            );
        }

        impl $crate::entity::ListStatus for $status {
            const EXPECTED: &'static str = $expected;
        }
    };
}
pub(crate) use customer_record;

/// How a by-id read takes its row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    /// A plain read.
    Read,
    /// Locked until the transaction ends, so concurrent changes apply one after the other.
    ForUpdate,
}

/// The live row `id` of the current tenant, if there is one.
pub async fn find<T: Entity>(conn: &mut PgConnection, id: Uuid, lock: Lock) -> Result<Option<T>> {
    let sql = match lock {
        Lock::Read => T::SELECT_LIVE,
        Lock::ForUpdate => T::SELECT_LIVE_FOR_UPDATE,
    };
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// The live row `id` of the current tenant, or the entity's 404.
pub async fn get<T: Entity>(conn: &mut PgConnection, id: Uuid, lock: Lock) -> Result<T> {
    find(conn, id, lock).await?.ok_or(T::NOT_FOUND)
}

/// One page of the tenant's live rows in creation order.
pub async fn page<T: Entity>(conn: &mut PgConnection, params: &ListParams) -> Result<Page<T>> {
    let rows: Vec<T> = sqlx::query_as(T::SELECT_PAGE)
        .bind(Cursor::keyset_start(params.cursor)?)
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |r| {
        Cursor::After(r.id())
    }))
}

/// One page of the tenant's live records in creation order, optionally of one customer and
/// in one status.
pub async fn filtered_page<T: CustomerRecord>(
    conn: &mut PgConnection,
    filter: &CustomerStatusFilter<T::Status>,
    params: &ListParams,
) -> Result<Page<T>> {
    let sql = if filter.customer_id.is_some() {
        T::SELECT_CUSTOMER_PAGE
    } else {
        T::SELECT_FILTERED_PAGE
    };
    let rows: Vec<T> = sqlx::query_as(sql)
        .bind(Cursor::keyset_start(params.cursor)?)
        .bind(filter.customer_id)
        .bind(filter.status_text())
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |r| {
        Cursor::After(r.id())
    }))
}

/// Soft delete: the row stays (for the audit trail and references) but is never shown again.
/// Audited as `delete` with the `deleted_at` it got; 404 when there is no live row.
pub async fn soft_delete<T: Entity>(
    conn: &mut PgConnection,
    actor: &Actor,
    id: Uuid,
) -> Result<()> {
    let deleted_at: Option<DateTime<Utc>> = sqlx::query_scalar(T::SOFT_DELETE)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    let deleted_at = deleted_at.ok_or(T::NOT_FOUND)?;
    let mut changes = Map::new();
    changes.insert(
        "deleted_at".to_owned(),
        json!({ "old": null, "new": deleted_at }),
    );
    audit::log_change(conn, actor, T::AUDIT_TYPE, id, AuditAction::Delete, changes).await
}

/// Audits a new row (every field as new) as `create`.
pub async fn log_created<T: Entity>(conn: &mut PgConnection, actor: &Actor, row: &T) -> Result<()> {
    log_created_as(conn, actor, row, AuditAction::Create).await
}

/// Audits a new row (every field as new) under `action` (a flow may name its own).
pub async fn log_created_as<T: Entity>(
    conn: &mut PgConnection,
    actor: &Actor,
    row: &T,
    action: AuditAction,
) -> Result<()> {
    let changes = compute_changes(&Value::Null, &snapshot(row)?);
    audit::log_change(conn, actor, T::AUDIT_TYPE, row.id(), action, changes).await
}

/// Audits the fields that changed between `before` and `after` as `update`; nothing when
/// nothing changed.
pub async fn log_updated<T: Entity>(
    conn: &mut PgConnection,
    actor: &Actor,
    before: &T,
    after: &T,
) -> Result<()> {
    let changes = compute_changes(&snapshot(before)?, &snapshot(after)?);
    if changes.is_empty() {
        return Ok(());
    }
    audit::log_change(
        conn,
        actor,
        T::AUDIT_TYPE,
        after.id(),
        AuditAction::Update,
        changes,
    )
    .await
}

/// A status a list can be filtered by (`?status=`).
pub trait ListStatus: TextEnum {
    /// The message when `status` is not one of the values.
    const EXPECTED: &'static str;
}

/// Optional filters of a list of a customer's records (tickets, invoices, messages):
/// `customer_id`, `status`.
#[derive(Debug, Clone)]
pub struct CustomerStatusFilter<S> {
    pub customer_id: Option<Uuid>,
    pub status: Option<S>,
}

impl<S> Default for CustomerStatusFilter<S> {
    fn default() -> Self {
        CustomerStatusFilter {
            customer_id: None,
            status: None,
        }
    }
}

impl<S: ListStatus> CustomerStatusFilter<S> {
    pub fn from_query(query: &HashMap<String, String>) -> Result<CustomerStatusFilter<S>> {
        Ok(CustomerStatusFilter {
            customer_id: uuid_param(query, "customer_id")?,
            status: query_param(query, "status", S::from_text, S::EXPECTED)?,
        })
    }

    /// The status as stored, for `$n::text IS NULL OR status = $n`.
    pub fn status_text(&self) -> Option<&'static str> {
        self.status.map(S::as_text)
    }
}
