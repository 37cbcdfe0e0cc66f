//! The audit log: `log_change` writes one row per create/update/delete in the caller's
//! transaction (so a change and its audit commit or vanish together), `compute_changes` derives
//! the field-level `{field: {old, new}}` diff, and `list` reads a tenant's entries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::events::sequence::{SHARED_LOCK_SQL, WAKE_CTE};
use crate::ids::{Actor, new_id};
use crate::pagination::{Cursor, ListParams, Page};

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    Create,
    Update,
    Delete,
    /// A named domain action (archive, schedule, ...), recorded as its name.
    Action(&'static str),
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Create => "create",
            AuditAction::Update => "update",
            AuditAction::Delete => "delete",
            AuditAction::Action(name) => name,
        }
    }
}

/// Fields never reported as changes: bookkeeping the database maintains itself.
const IGNORED_FIELDS: [&str; 2] = ["updated_at", "user_id"];

/// The field-level difference between two JSON renderings of an entity:
/// `{field: {"old": .., "new": ..}}` for every top-level field whose value differs.
/// A create is `compute_changes(&Value::Null, &new)`; a delete is the reverse.
pub fn compute_changes(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let old_map = old.as_object().unwrap_or(&empty);
    let new_map = new.as_object().unwrap_or(&empty);
    let mut changes = Map::new();
    let keys = old_map
        .keys()
        .chain(new_map.keys().filter(|k| !old_map.contains_key(*k)));
    for key in keys {
        if IGNORED_FIELDS.contains(&key.as_str()) {
            continue;
        }
        let before = old_map.get(key).unwrap_or(&Value::Null);
        let after = new_map.get(key).unwrap_or(&Value::Null);
        if before != after {
            changes.insert(key.clone(), json!({ "old": before, "new": after }));
        }
    }
    changes
}

/// Appends one audit row in the caller's transaction. The tenant comes from the transaction's
/// row-level-security context (`app_current_user_id()`), never from the caller. The same
/// call wakes the tenant's fan-out (`events::sequence`): a shared advisory lock and, when
/// none is waiting, one `webhook.fan_out` job — all a write ever pays for events.
pub async fn log_change(
    conn: &mut PgConnection,
    actor: &Actor,
    entity_type: &str,
    entity_id: Uuid,
    action: AuditAction,
    changes: Map<String, Value>,
) -> Result<()> {
    sqlx::query(SHARED_LOCK_SQL).execute(&mut *conn).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH {WAKE_CTE}
         INSERT INTO audit_log (id, user_id, entity_type, entity_id, action, changes, actor_id, request_id, actor_type)
         VALUES ($1, app_current_user_id(), $2, $3, $4, $5, $6, $7, $8)"
    )))
    .bind(new_id())
    .bind(entity_type)
    .bind(entity_id)
    .bind(action.as_str())
    .bind(Value::Object(changes))
    .bind(actor.actor_id())
    .bind(actor.request_id.as_deref())
    .bind(actor.actor_type())
    .execute(conn)
    .await?;
    Ok(())
}

/// One row for [`log_changes`].
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub actor: Actor,
    pub entity_type: &'static str,
    pub entity_id: Uuid,
    pub action: AuditAction,
    pub changes: Map<String, Value>,
}

/// Appends many audit rows in one statement (batch work such as the message sender), with
/// exactly what [`log_change`] would write for each.
pub async fn log_changes(conn: &mut PgConnection, records: &[AuditRecord]) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = records.iter().map(|_| new_id()).collect();
    sqlx::query(SHARED_LOCK_SQL).execute(&mut *conn).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH {WAKE_CTE}
         INSERT INTO audit_log (id, user_id, entity_type, entity_id, action, changes, actor_id, request_id, actor_type)
         SELECT r.id, app_current_user_id(), r.entity_type, r.entity_id, r.action, r.changes,
                r.actor_id, r.request_id, r.actor_type
           FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::jsonb[], $6::uuid[],
                       $7::text[], $8::text[])
                AS r(id, entity_type, entity_id, action, changes, actor_id, request_id, actor_type)"
    )))
    .bind(ids)
    .bind(records.iter().map(|r| r.entity_type).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.entity_id).collect::<Vec<_>>())
    .bind(records.iter().map(|r| r.action.as_str()).collect::<Vec<_>>())
    .bind(
        records
            .iter()
            .map(|r| Value::Object(r.changes.clone()))
            .collect::<Vec<_>>(),
    )
    .bind(records.iter().map(|r| r.actor.actor_id()).collect::<Vec<_>>())
    .bind(
        records
            .iter()
            .map(|r| r.actor.request_id.clone())
            .collect::<Vec<_>>(),
    )
    .bind(records.iter().map(|r| r.actor.actor_type()).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Renders an entity for diffing. Entities serialise infallibly; a failure here is a bug.
pub fn snapshot<T: Serialize>(entity: &T) -> Result<Value> {
    serde_json::to_value(entity).map_err(|e| Error::Internal(format!("audit snapshot: {e}")))
}

/// One audit entry as clients see it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: Uuid,
    pub entity_type: String,
    pub entity_id: Uuid,
    /// `create`, `update`, `delete`, or an action name such as `archive`.
    pub action: String,
    /// `{field: {"old": ..., "new": ...}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    /// The user, or the customer when `actor_type` is `customer`; null for `system`.
    pub actor_id: Option<Uuid>,
    /// `user` (the business), `customer` (through an email link) or `system` (the worker).
    pub actor_type: String,
    pub request_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The event's place in the tenant's order (`data.sequence` of webhooks and the stream);
    /// null for the moment between the change's commit and the fan-out numbering it.
    pub sequence: Option<i64>,
}

/// Filters of `GET /api/data/audit_log`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<Uuid>,
}

impl AuditFilter {
    pub fn from_query(query: &HashMap<String, String>) -> Result<AuditFilter> {
        let entity_type = query
            .get("entity_type")
            .map(|s| {
                if !s.is_empty()
                    && s.len() <= 64
                    && s.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                {
                    Ok(s.clone())
                } else {
                    Err(Error::field(
                        "entity_type",
                        "must be an entity type such as customer",
                    ))
                }
            })
            .transpose()?;
        let entity_id = crate::pagination::uuid_param(query, "entity_id")?;
        Ok(AuditFilter {
            entity_type,
            entity_id,
        })
    }
}

/// A page of the tenant's audit entries after `$3`, optionally of entity type `$1` or entity
/// `$2`: keyset on `(user_id, id)`.
pub const LIST_SQL: &str = "SELECT id, entity_type, entity_id, action, changes, actor_id, actor_type, request_id, created_at, sequence
   FROM audit_log
  WHERE user_id = app_current_user_id() AND id > $3
    AND ($1::text IS NULL OR entity_type = $1)
    AND ($2::uuid IS NULL OR entity_id = $2)
  ORDER BY user_id, id
  LIMIT $4";

/// A page of one entity's (`$1`, `$2`) history after `$3`: keyset on the tenant's
/// `(user_id, entity_type, entity_id, id)` index.
pub const HISTORY_SQL: &str = "SELECT id, entity_type, entity_id, action, changes, actor_id, actor_type, request_id, created_at, sequence
   FROM audit_log
  WHERE user_id = app_current_user_id() AND entity_type = $1 AND entity_id = $2 AND id > $3
  ORDER BY user_id, entity_type, entity_id, id
  LIMIT $4";

/// A tenant's audit entries, oldest first, filtered and paged.
pub async fn list(
    conn: &mut PgConnection,
    filter: &AuditFilter,
    params: &ListParams,
) -> Result<Page<AuditEntry>> {
    let after = Cursor::keyset_start(params.cursor)?;
    // The tenant stated and a keyset on its index: one entity's history on
    // (user_id, entity_type, entity_id, id), everything else on (user_id, id).
    let sql = if filter.entity_type.is_some() && filter.entity_id.is_some() {
        HISTORY_SQL
    } else {
        LIST_SQL
    };
    let rows: Vec<AuditEntry> = sqlx::query_as(sql)
        .bind(filter.entity_type.as_deref())
        .bind(filter.entity_id)
        .bind(after)
        .bind(params.fetch_limit())
        .fetch_all(conn)
        .await?;
    Ok(Page::from_rows(rows, params.limit, |e| Cursor::After(e.id)))
}

/// One audit entry by id.
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<AuditEntry> {
    sqlx::query_as(
        "SELECT id, entity_type, entity_id, action, changes, actor_id, actor_type, request_id, created_at, sequence
           FROM audit_log WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(Error::NotFound("audit entry not found"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_list_only_differing_fields() {
        let old = json!({"a": 1, "b": "x", "updated_at": "t1"});
        let new = json!({"a": 2, "b": "x", "updated_at": "t2"});
        let c = compute_changes(&old, &new);
        assert_eq!(Value::Object(c), json!({"a": {"old": 1, "new": 2}}));
    }

    #[test]
    fn a_create_reports_every_field_as_new() {
        let c = compute_changes(&Value::Null, &json!({"a": 1, "b": null}));
        assert_eq!(Value::Object(c), json!({"a": {"old": null, "new": 1}}));
    }
}
