//! Audit events: the `{id, type, timestamp, data}` shape every committed, numbered audit row
//! is delivered as (webhooks and the live stream), their `{entity}.{action}` type names, and
//! reading a tenant's events in `sequence` order. Numbering lives in [`sequence`].

pub mod sequence;
pub mod types;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::Result;

pub use types::{EVENT_TYPES, event_type};

/// NOTIFY channel on which the fan-out announces newly numbered events of a tenant
/// (payload: `<user id>:<last sequence>`). The API's one shared listener wakes its streams.
pub const EVENTS_CHANNEL: &str = "fieldwork_events";

/// One event as receivers see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Event {
    /// The audit row's id: the same on every delivery (`webhook-id`); de-duplicate by it.
    pub id: Uuid,
    /// `{entity}.{action}`, e.g. `customer.created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the change happened.
    pub timestamp: DateTime<Utc>,
    pub data: EventData,
}

/// What changed, who changed it, and where the event stands in the tenant's order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventData {
    pub entity_type: String,
    pub entity_id: Uuid,
    /// `{field: {"old": ..., "new": ...}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub actor: EventActor,
    pub request_id: Option<String>,
    /// Per tenant, strictly increasing in commit order, never reused.
    pub sequence: i64,
}

/// Who made the change.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventActor {
    /// `user`, `customer` or `system`.
    #[serde(rename = "type")]
    pub actor_type: String,
    pub id: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    entity_type: String,
    entity_id: Uuid,
    action: String,
    changes: Value,
    actor_id: Option<Uuid>,
    actor_type: String,
    request_id: Option<String>,
    created_at: DateTime<Utc>,
    sequence: i64,
}

impl From<Row> for Event {
    fn from(r: Row) -> Event {
        Event {
            id: r.id,
            event_type: event_type(&r.entity_type, &r.action),
            timestamp: r.created_at,
            data: EventData {
                entity_type: r.entity_type,
                entity_id: r.entity_id,
                changes: r.changes,
                actor: EventActor {
                    actor_type: r.actor_type,
                    id: r.actor_id,
                },
                request_id: r.request_id,
                sequence: r.sequence,
            },
        }
    }
}

const COLUMNS: &str = "id, entity_type, entity_id, action, changes, actor_id, actor_type, \
                       request_id, created_at, sequence";

/// The caller's tenant's events numbered after `after`, oldest first, at most `limit`.
pub async fn after(conn: &mut PgConnection, after: i64, limit: i64) -> Result<Vec<Event>> {
    let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log
          WHERE sequence > $1 AND sequence IS NOT NULL
          ORDER BY sequence LIMIT $2"
    )))
    .bind(after)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// One event of the caller's tenant by id (numbered ones only).
pub async fn get(conn: &mut PgConnection, id: Uuid) -> Result<Option<Event>> {
    let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM audit_log WHERE id = $1 AND sequence IS NOT NULL"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(Event::from))
}

/// The caller's tenant's last numbered sequence (0 when none).
pub async fn last_sequence(conn: &mut PgConnection) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(max(sequence), 0)::int8 FROM audit_log
          WHERE user_id = app_current_user_id() AND sequence IS NOT NULL",
    )
    .fetch_one(conn)
    .await?)
}
